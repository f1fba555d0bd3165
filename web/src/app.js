// The page: camera -> MediaPipe Holistic -> segmentation and normalization -> pose encoder (ONNX
// Runtime Web) -> top-5 in the vocabulary, every step in this browser tab, every file from this
// page's own folder. In the Spell mode a SpellReader reads letters from the holds of the hand and a
// word prior corrects the word. `window.signclip` mirrors what the page shows (status, signs,
// letters, words, frame rates and timings since the page started loading) for scripts that drive it.

import * as ort from '../vendor/onnxruntime-web/ort.wasm.min.mjs';
import { encoderOptions, loadWebModel, loadWordList, readManifest } from './bundle.js';
import { PoseLoop, openHolistic } from './capture.js';
import { PoseEncoder } from './encoder.js';
import { usesBothHands } from './normalize.js';
import { drawSkeleton } from './overlay.js';
import { searchPanel, signPanel, spellPanel } from './panels.js';
import { Recognizer } from './recognizer.js';
import { SpellReader, readerOptions } from './spelling.js';
import { WordPrior } from './wordprior.js';

const MODEL_BASE = 'model/';
const HOLISTIC_BASE = 'vendor/holistic/';
const RATE_FRAMES = 8;      // frames timed before the recognizer starts at the measured frame rate
const RATE_DRIFT = 0.25;    // a measured rate this far from the recognizer's restarts it (between signs)
const TOP_K = 5;
const MAX_SIGNS = 1000;     // signs kept in window.signclip for scripts (the panels keep their own)
// ?keypoints: each sign in window.signclip also holds its keypoints before and after normalization
// and its embedding, so that a test can recompute them in Python
const KEEP_KEYPOINTS = new URLSearchParams(location.search).has('keypoints');
const MODES = ['sign', 'spell', 'search'];

const $ = (selector) => document.querySelector(selector);
const page = { status: 'loading', error: null, signs: [], letters: [], words: [], stats: {}, marks: {},
  language: null, mode: 'sign' };
globalThis.signclip = page;

function setStatus(status, text) {
  page.status = status;
  $('#status').textContent = text;
  document.body.dataset.status = status;
}

function fail(error) {
  page.error = String(error.message ?? error);
  setStatus('error', page.error);
  console.error(error);
}

/** Frames per second over the last few processed frames. */
class RateMeter {
  constructor(size = 30) {
    this.size = size;
    this.times = [];
  }

  add(ms) {
    this.times.push(ms);
    if (this.times.length > this.size) this.times.shift();
  }

  get fps() {
    const n = this.times.length;
    return n < 2 ? 0 : ((n - 1) * 1000) / (this.times[n - 1] - this.times[0]);
  }
}

/**
 * A reader (the sign Recognizer or a SpellReader, made by `make(fps)`) at the page's own frame rate
 * (frames processed per second, which MediaPipe's speed decides, not the camera's): it starts once
 * the rate is measured, with the frames seen before replayed into it, and starts again between
 * signs when the rate drifts, or when `restart(make)` changes the reader.
 */
class LiveRecognizer {
  constructor(make) {
    this.make = make;
    this.rate = new RateMeter();
    this.recognizer = null;
    this.early = [];
  }

  restart(make) {
    this.make = make;
    if (this.recognizer !== null) this.start();
  }

  get fps() {
    return this.rate.fps;
  }

  get inSign() {
    return this.recognizer?.inSign ?? false;
  }

  start() {
    this.recognizer = this.make(this.fps);
  }

  /** One frame's keypoints in; the events it decided out (signs, or letters and words). */
  async push(frame, mask, stamp) {
    this.rate.add(performance.now());
    if (this.recognizer === null) {
      this.early.push([frame, mask, stamp]);
      if (this.early.length < RATE_FRAMES) return [];
      this.start();
      const events = [];
      for (const args of this.early.splice(0)) events.push(...await this.recognizer.push(...args));
      return events;
    }
    if (!this.recognizer.inSign && Math.abs(this.fps / this.recognizer.fps - 1) > RATE_DRIFT) this.start();
    return this.recognizer.push(frame, mask, stamp);
  }
}

async function readModelFile(name) {
  const response = await fetch(MODEL_BASE + name);
  if (!response.ok) throw new Error(`${MODEL_BASE}${name}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function openCamera(video) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('this browser gives no camera here: open the page from localhost or over HTTPS');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: 'user' }, // the camera's own size: a constraint may crop it
    });
  } catch (e) {
    throw new Error(`no camera (${e.name}): allow the camera for this page and reload`);
  }
  video.srcObject = stream;
  await video.play();
  return stream;
}

async function loadModel(manifest) {
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1;
  const web = await loadWebModel(readModelFile, manifest);
  web.poseEncoder = await PoseEncoder.load(ort, web.encoder, encoderOptions(web));
  return web;
}

/** The training data that asks for credit wherever the model ships (CC BY), with its CREDITS.md. */
function mountCredits(manifest) {
  const sets = manifest.training_data ?? [];
  if (!sets.length) return;
  const link = document.createElement('a');
  link.href = MODEL_BASE + (manifest.credits ?? '');
  link.textContent = 'credits';
  $('#credits').append(`Trained on ${sets.map((d) => `${d.name} (${d.license})`).join(', ')}`,
    ...(manifest.credits ? [' · ', link] : []));
}

function mountPanels(panels, onMode) {
  const tabs = $('#tabs');
  const show = (id) => {
    page.mode = id;
    onMode(id);
    for (const p of panels) {
      p.element.hidden = p.id !== id;
      tabs.querySelector(`[data-mode="${p.id}"]`).setAttribute('aria-selected', String(p.id === id));
    }
  };
  for (const p of panels) {
    const tab = document.createElement('button');
    Object.assign(tab, { type: 'button', textContent: p.title });
    tab.setAttribute('role', 'tab');
    tab.dataset.mode = p.id;
    tab.addEventListener('click', () => show(p.id));
    tabs.append(tab);
    $('#panels').append(p.element);
  }
  const wanted = new URLSearchParams(location.search).get('mode');
  show(MODES.includes(wanted) ? wanted : panels[0].id);
}

function mountLanguages(vocabulary, panels) {
  const select = $('#language');
  for (const code of vocabulary.languages()) select.append(new Option(code, code));
  const wanted = new URLSearchParams(location.search).get('language');
  if (wanted && vocabulary.languages().includes(wanted)) select.value = wanted;
  const changed = () => {
    page.language = select.value || null;
    for (const p of panels) p.onLanguage?.(page.language);
  };
  select.addEventListener('change', changed);
  changed();
}

/** The Spell mode's readers: the letters of the chosen sign language, its spoken language's prior. */
class Speller {
  constructor(web, panel) {
    this.web = web;
    this.panel = panel;
    this.lists = new Map(); // spoken language -> its word list (fetched once), or null
  }

  async prior(language, letters) {
    const spoken = language === null ? null : this.web.manifest.spoken_languages[language];
    if (!spoken) return null;
    if (!this.lists.has(spoken)) this.lists.set(spoken, await loadWordList(readModelFile, this.web.manifest, spoken));
    const list = this.lists.get(spoken);
    try {
      return list ? new WordPrior(list, letters, this.web.manifest.spelling.word_prior) : null;
    } catch {
      return null; // no word of that list is written in these letters
    }
  }

  /** `make(fps)` for a SpellReader of `language` (null: the letters of every language). */
  async reader(language) {
    const web = this.web;
    const options = await readerOptions(web, language, (input) => web.poseEncoder.embed(input),
      (letters) => this.prior(language, letters));
    const { letters, prior } = options;
    this.panel.onNote(letters.size === 0 ? `${language ?? 'this vocabulary'} has no letters to spell with`
      : `${letters.size} letters of ${language ?? 'all languages'}; `
        + (prior ? `words corrected with ${prior.words.length} ${prior.language} words` : 'no word list: letters as read'));
    return (fps) => new SpellReader(web.capture, fps, web, options);
  }

  show(event) {
    if (event.type === 'letter') {
      const { letter, startS, endS, score, candidates, kind } = event;
      page.letters.push({ letter, startS, endS, score, candidates, kind });
      this.panel.onLetter(event);
    } else {
      page.words.push({ word: event.word, raw: event.raw, letters: event.letters.map((x) => x.letter) });
      this.panel.onWord(event);
    }
    page.marks.first_result_ms ??= performance.now();
  }
}

async function main() {
  const video = $('#video');
  const canvas = $('#overlay');
  setStatus('loading', 'Loading the model and MediaPipe (once; then offline)…');
  const manifest = await readManifest(readModelFile); // it names the MediaPipe graph to run
  const [web, { holistic, inference, graph }] = await Promise.all([loadModel(manifest),
    openHolistic(HOLISTIC_BASE, manifest.capture_graph)]);
  page.stats.mediapipe_inference = inference;
  page.stats.mediapipe_graph = graph;
  const { vocabulary } = web;
  $('#model').textContent = `${manifest.source.model} · ${vocabulary.texts.length} entries · `
    + `${vocabulary.languages().length} sign languages`;
  const spell = spellPanel();
  const panels = [signPanel(), spell, searchPanel(vocabulary, () => page.language, web.references, drawSkeleton)];
  const signs = (fps) => new Recognizer(web.capture, web.fps,
    { ...web, keepRaw: KEEP_KEYPOINTS, sourceFps: fps });
  const live = new LiveRecognizer(signs);
  const speller = new Speller(web, spell);
  const readerFor = async () => (page.mode === 'spell' ? speller.reader(page.language) : signs);
  let switches = 0;
  let reading = 'sign'; // what the live reader reads: signs (Sign and Search tabs) or one language's letters
  const switchReader = () => {
    const wanted = page.mode === 'spell' ? `spell ${page.language}` : 'sign';
    if (wanted === reading) return; // a sign in progress survives a change of tab or filter
    reading = wanted;
    const ticket = ++switches; // a word list may arrive after a later switch's: only the last applies
    readerFor().then((make) => { if (ticket === switches) live.restart(make); }).catch(fail);
  };
  mountPanels(panels, switchReader);
  mountLanguages(vocabulary, [...panels, { onLanguage: switchReader }]);
  mountCredits(manifest);
  live.make = await readerFor();
  page.marks.model_ms = performance.now();
  setStatus('camera', 'Starting the camera…');
  await openCamera(video);
  page.marks.camera_ms = performance.now();

  let frames = 0;
  let mediapipeTotalMs = 0; // over the frames so far: the mean in page.stats
  const recognize = async (event) => {
    if (event.input === null) return; // a segment without shoulders
    const began = performance.now();
    const { embedding, whole } = await web.poseEncoder.embedViews(event.input);
    const encodeMs = performance.now() - began;
    const results = vocabulary.lookupEmbedding(embedding, TOP_K, page.language, 'auto',
      usesBothHands(event.input, web.model), event.input, whole);
    const { input, raw, ...span } = event;
    const sign = { ...span, language: page.language, encodeMs, results };
    if (KEEP_KEYPOINTS) {
      sign.keypoints = { raw: Array.from(raw.frames), rawMask: Array.from(raw.mask), frames: Array.from(input.frames),
        mask: Array.from(input.mask), flipped: input.flipped, embedding: Array.from(embedding) };
    }
    page.signs.push(sign);
    if (page.signs.length > MAX_SIGNS) page.signs.shift();
    page.marks.first_result_ms ??= performance.now();
    Object.assign(page.stats, { encode_ms: encodeMs });
    for (const p of panels) p.onSign?.(sign);
  };
  const onPose = async ({ frame, mask, results, index, timeS, mediapipeMs }) => {
    drawSkeleton(canvas, results);
    page.marks.first_pose_ms ??= performance.now();
    const ended = await live.push(frame, mask, { index, timeS });
    frames += 1;
    mediapipeTotalMs += mediapipeMs;
    Object.assign(page.stats, { fps: live.fps, mediapipe_ms: mediapipeMs, frames,
      mediapipe_ms_mean: mediapipeTotalMs / frames });
    document.body.dataset.signing = String(live.inSign);
    $('#readout').textContent = `${live.fps.toFixed(1)} frames/s · MediaPipe ${mediapipeMs.toFixed(0)} ms `
      + `(${inference})` + (page.stats.encode_ms ? ` · encoder ${page.stats.encode_ms.toFixed(0)} ms` : '');
    for (const event of ended) {
      if (event.type === undefined) await recognize(event);
      else speller.show(event);
    }
  };
  new PoseLoop(holistic, video, canvas, web.capture, (pose) => onPose(pose).catch(fail)).run().catch(fail);
  setStatus('running', 'Sign in front of the camera. Nothing leaves this device.');
}

main().catch(fail);
