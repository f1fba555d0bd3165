import { chromium } from 'playwright-core';
const [url, ...flags] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--use-file-for-fake-video-capture=/tmp/cab.y4m', ...flags] });
const p = await b.newPage();
await p.goto(url);
await p.waitForFunction(() => window.out, null, { timeout: 200000 });
console.log(JSON.stringify(await p.evaluate(() => window.out)), flags.join(' '));
await b.close();
