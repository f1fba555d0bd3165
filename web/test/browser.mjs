// Drives the built page in headless Chromium with a fake camera that plays a video file, and writes
// what the page showed as JSON: the signs it recognized (top-5 each), its frame rate, its timings,
// and every request it made (to check that nothing left its own origin).
//
//   node test/browser.mjs --url http://127.0.0.1:8000/?language=ase --video cab.y4m \
//       --expect C,A,B --out result.json [--screenshot page.png] [--timeout 240] [--min-seconds 60]
//       [--search B] [--words 3]
//
// It waits until the page has shown as many signs as --expect names (or one), then `found` says
// whether the first signs' top-1 labels are exactly those. With --words (a page opened with
// ?mode=spell) it waits for that many spelled words instead, and `found` compares the words. With --search it then types that text into
// the Search tab as a person would and reads the results shown.
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM); playwright-core only speaks its DevTools
// protocol and downloads nothing.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    video: { type: 'string' },
    expect: { type: 'string', default: '' },
    out: { type: 'string' },
    screenshot: { type: 'string' },
    timeout: { type: 'string', default: '240' },
    'min-seconds': { type: 'string', default: '0' },
    search: { type: 'string' },
    words: { type: 'string', default: '0' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
  },
});

// Flags that keep Chromium from reaching any service of its own (updates, metrics, translation...).
const QUIET = [
  '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
  '--disable-sync', '--disable-domain-reliability', '--disable-client-side-phishing-detection',
  '--no-first-run', '--no-pings', '--metrics-recording-only', '--safebrowsing-disable-auto-update',
  '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication',
];

/** Whether the first signs shown (their top-1 labels) are `expected`, in order. */
function firstSigns(labels, expected) {
  return expected.length > 0 && labels.length >= expected.length && expected.every((e, i) => labels[i] === e);
}

async function main() {
  const expected = args.expect ? args.expect.split(',') : [];
  const spelling = Number(args.words); // words to wait for (Spell mode), 0: signs
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${args.video}`, '--autoplay-policy=no-user-gesture-required',
      ...QUIET],
  });
  const origin = new URL(args.url).origin;
  const requests = [];
  const consoleErrors = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('requestfinished', async (request) => {
    const sizes = await request.sizes().catch(() => ({ responseBodySize: 0, responseHeadersSize: 0 }));
    requests.push({ url: request.url(), bytes: sizes.responseBodySize, failed: false });
  });
  page.on('requestfailed', (request) => requests.push({ url: request.url(), bytes: 0, failed: true }));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  const began = Date.now();
  await page.goto(args.url);
  const deadline = began + Number(args.timeout) * 1000;
  let state = null;
  let measured = null; // {frames, ms} when the frame rate window opened
  for (;;) {
    state = await page.evaluate(() => JSON.parse(JSON.stringify(globalThis.signclip ?? null)));
    if (state?.status === 'error') break;
    if (state?.stats?.frames && measured === null) {
      measured = { frames: state.stats.frames, ms: Date.now() };
    }
    const shown = (spelling ? state?.words?.length : state?.signs?.length) ?? 0;
    const ran = Date.now() - began >= Number(args['min-seconds']) * 1000;
    if (ran && shown >= Math.max(1, spelling || expected.length)) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  let search = null;
  if (args.search && state?.status === 'running') {
    await page.click('nav button[data-mode="search"]');
    await page.fill('#search-text', args.search);
    await page.click('form.search button[type="submit"]');
    search = await page.$$eval('#search-results li', (items) => items.map((li) => ({
      label: li.dataset.label, language: li.dataset.language })));
  }
  const endFrames = state?.stats?.frames ?? 0;
  const fps = measured && endFrames > measured.frames
    ? ((endFrames - measured.frames) * 1000) / (Date.now() - measured.ms) : 0;
  let screenshotError = null;
  if (args.screenshot) {
    await page.screenshot({ path: args.screenshot, timeout: 60000 }).catch((e) => { screenshotError = e.message; });
  }
  await browser.close();
  const foreign = requests.filter((r) => !r.url.startsWith(`${origin}/`) && !r.url.startsWith('data:'));
  const result = {
    status: state?.status ?? 'no page state', error: state?.error ?? null,
    signs: (state?.signs ?? []).map((s) => ({
      start_s: s.startS, end_s: s.endS, encode_ms: s.encodeMs,
      top5: s.results.map((m) => ({ label: m.label, language: m.language, score: m.score })),
      keypoints: s.keypoints ?? null,
    })),
    letters: state?.letters ?? [],
    words: state?.words ?? [],
    found: firstSigns(spelling ? (state?.words ?? []).map((w) => w.word)
      : (state?.signs ?? []).map((s) => s.results[0]?.label), expected),
    fps, marks: state?.marks ?? {}, stats: state?.stats ?? {},
    wall_s: (Date.now() - began) / 1000,
    requests: requests.length, bytes: requests.reduce((n, r) => n + r.bytes, 0),
    request_list: requests.map((r) => ({ path: r.url.replace(origin, ''), bytes: r.bytes })),
    failed_requests: requests.filter((r) => r.failed).map((r) => r.url),
    foreign_requests: foreign.map((r) => r.url), console_errors: consoleErrors.slice(0, 20),
    screenshot_error: screenshotError,
    search,
  };
  writeFileSync(args.out, JSON.stringify(result, null, 1));
}

main().catch((e) => {
  console.error(`browser test driver: ${e.message}`);
  process.exit(1);
});
