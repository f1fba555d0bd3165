// The page's pipeline in Node, on frames the Python test hands over, for tests/web/test_parity.py:
//
//   node test/parity.mjs CASES_DIR MODEL_DIR
//
// CASES_DIR/cases.json lists clips ({name, points, fps, length, frames: file of float32 [T * K * 3],
// mask: file of uint8 [T * K], configs: normalization options to run, embed, stream, spell: the
// sign language to spell in, or null}), plus frame-rate, resampling, MediaPipe-results and word-prior
// checks. For each clip and config this writes the normalized frames and
// mask (NAME.CONFIG.f32 / .u8), and into CASES_DIR/results.json the embeddings, top-5 lookups and
// streamed signs: everything the page computes after MediaPipe, by the page's own modules.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web/wasm';
import { encoderOptions, loadWebModel, loadWordList } from '../src/bundle.js';
import { resultsToFrame } from '../src/capture.js';
import { PoseEncoder, resampleIndices } from '../src/encoder.js';
import { Layout } from '../src/layouts.js';
import { normalizationConfig, preprocess } from '../src/normalize.js';
import { Recognizer, frameRepeats } from '../src/recognizer.js';
import { frameCounts } from '../src/segmentation.js';
import { SpellReader, readerOptions } from '../src/spelling.js';
import { WordPrior } from '../src/wordprior.js';

const [casesDir, modelDir] = process.argv.slice(2);
const read = async (name) => {
  const b = readFileSync(join(modelDir, name));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const bytes = (name) => readFileSync(join(casesDir, name));

function matches(list) {
  return list.map((m) => ({ label: m.label, language: m.language, score: m.score, source: m.source }));
}

async function runCase(c, web, encoder, out) {
  const k = c.points.length;
  const raw = bytes(c.frames);
  const frames = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const mask = new Uint8Array(bytes(c.mask));
  const source = new Layout(c.name, c.points);
  const result = { name: c.name, configs: [] };
  for (const [i, options] of c.configs.entries()) {
    try {
      const x = preprocess(frames, mask, source, web.model, normalizationConfig(options));
      writeFileSync(join(casesDir, `${c.name}.${i}.f32`), new Uint8Array(x.frames.buffer));
      writeFileSync(join(casesDir, `${c.name}.${i}.u8`), x.mask);
      result.configs.push({ flipped: x.flipped, length: x.length });
    } catch (e) {
      result.configs.push({ error: e.message });
    }
  }
  if (c.embed) {
    try {
      const x = preprocess(frames, mask, source, web.model, web.normalization);
      const { embedding, whole } = await encoder.embedViews(x);
      result.embedding = Array.from(embedding);
      result.whole = Array.from(whole);
      result.top5 = matches(web.vocabulary.lookupEmbedding(embedding, 5));
      result.top5_ase = matches(web.vocabulary.lookupEmbedding(embedding, 5, 'ase'));
      result.top5_signs = matches(web.vocabulary.lookupEmbedding(embedding, 5, 'ase', 'signs', false, x, whole));
    } catch (e) {
      result.embed_error = e.message;
    }
  }
  if (c.stream) {
    const recognizer = new Recognizer(source, c.fps, web);
    const events = [];
    for (let t = 0; t < c.length; t++) {
      events.push(...recognizer.push(frames.subarray(3 * t * k, 3 * (t + 1) * k), mask.subarray(t * k, (t + 1) * k)));
    }
    events.push(...recognizer.finish());
    result.signs = [];
    for (const e of events) {
      const sign = { start: e.startFrame, end: e.endFrame, decided: e.decidedFrame, top5: null };
      if (e.input) sign.top5 = matches(web.vocabulary.lookupEmbedding(await encoder.embed(e.input), 5));
      result.signs.push(sign);
    }
  }
  if (c.spell) result.spelled = await spell(c, frames, mask, source, web, encoder);
  out.push(result);
}

/** The Spell mode's reader over a clip: its letters and words (the prior: the language's spoken one). */
async function spell(c, frames, mask, source, web, encoder) {
  const k = c.points.length;
  const list = await loadWordList(read, web.manifest, web.manifest.spoken_languages[c.spell]);
  const options = await readerOptions(web, c.spell, (input) => encoder.embed(input),
    async (letters) => new WordPrior(list, letters, web.spelling.word_prior));
  const reader = new SpellReader(source, c.fps, web, options);
  const events = [];
  for (let t = 0; t < c.length; t++) {
    events.push(...await reader.push(frames.subarray(3 * t * k, 3 * (t + 1) * k), mask.subarray(t * k, (t + 1) * k)));
  }
  events.push(...await reader.finish());
  return events.map((e) => (e.type === 'letter'
    ? { letter: e.letter, start: e.startFrame, end: e.endFrame, decided: e.decidedFrame, kind: e.kind,
      candidates: e.candidates.map(([label]) => label) }
    : { raw: e.raw, word: e.word, decided: e.decidedFrame }));
}

/** The word prior alone, on letters and candidates the test made up: {word, edits} per case. */
async function priors(spec, web) {
  const out = [];
  for (const p of spec) {
    const list = await loadWordList(read, web.manifest, p.spoken);
    const prior = new WordPrior(list, new Set(p.alphabet), web.manifest.spelling.word_prior);
    out.push(prior.correct(p.letters));
  }
  return out;
}

async function main() {
  const spec = JSON.parse(readFileSync(join(casesDir, 'cases.json'), 'utf8'));
  ort.env.wasm.numThreads = 1;
  const web = await loadWebModel(read);
  const encoder = await PoseEncoder.load(ort, web.encoder, encoderOptions(web));
  const cases = [];
  for (const c of spec.cases) await runCase(c, web, encoder, cases);
  const texts = spec.texts.map(([text, language]) => {
    try {
      return matches(web.vocabulary.lookupText(text, 5, language));
    } catch (e) {
      return { error: e.message };
    }
  });
  writeFileSync(join(casesDir, 'results.json'), JSON.stringify({
    cases,
    texts,
    priors: await priors(spec.priors, web),
    frame_counts: spec.fps.map((fps) => frameCounts(web.segmenter, fps)),
    resample: spec.resample.map(([n, max]) => Array.from(resampleIndices(n, max))),
    rates: spec.fps.map((source) => Array.from({ length: 97 }, (_, i) => frameRepeats(i, source, 25))),
    captured: spec.mediapipe.map(({ results, width, height }) => {
      const { frame, mask } = resultsToFrame(results, width, height, web.capture);
      return { frame: Array.from(frame), mask: Array.from(mask) };
    }),
  }));
}

main().catch((e) => {
  console.error(`parity runner: ${e.stack}`);
  process.exit(1);
});
