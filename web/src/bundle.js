// The bundle's web format (written by `signclip web`, runtime/cli/webpage.py): manifest.json, the pose
// encoder's ONNX and the vocabulary embeddings as float32 files, each checked against its sha256.
// `read(name)` returns a file's bytes (fetch in the page, the file system in Node).

import { Layout } from './layouts.js';
import { modelLayout, normalizationConfig } from './normalize.js';
import { Vocabulary } from './search.js';
import { ReferenceTemplates, TEMPLATE } from './templates.js';

export const WEB_FORMAT = 'signclip-web';
export const WEB_SCHEMA_VERSION = 1;

async function sha256(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A file's bytes, refused when its sha256 differs from the manifest's. */
async function readChecked(read, entry) {
  const bytes = await read(entry.file);
  if (globalThis.crypto?.subtle && (await sha256(bytes)) !== entry.sha256) {
    throw new Error(`${entry.file} does not match its sha256 in the manifest (corrupt or changed)`);
  }
  return bytes;
}

async function readRows(read, entry, dim) {
  const rows = new Float32Array(await readChecked(read, entry));
  const [n, d] = entry.shape;
  if (d !== dim || rows.length !== n * d) {
    throw new Error(`${entry.file} holds ${rows.length} numbers, the manifest says ${n} x ${d}`);
  }
  return rows;
}

/** An IEEE half-precision number (its 16 bits) as a JavaScript number: the reference clips are float16. */
export function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * The bundle's reference clips (runtime/model/references.py): `frames(label, language)` gives each frame
 * of that entry's clip as {poseLandmarks, leftHandLandmarks, rightHandLandmarks} in 0..1 (MediaPipe's
 * results shape, for drawSkeleton; a hand not seen in a frame is null), or null where it has none.
 */
export class References {
  constructor(entry, halves) {
    this.entry = entry;
    this.halves = halves;
    this.fps = entry.fps;
  }

  /** The rows of an entry's clips, the one shown first (several signers' for some words). */
  rows(label, language) {
    const out = [];
    this.entry.labels.forEach((l, j) => { if (l === label && this.entry.languages[j] === language) out.push(j); });
    return out;
  }

  find(label, language) {
    return this.rows(label, language)[0] ?? null;
  }

  /** An entry's shown clip as {frames [T * 75 * 3] (z 0), mask [T * 75]} in its unit box, or null. */
  clip(label, language) {
    const i = this.find(label, language);
    return i === null ? null : this.clipAt(i);
  }

  /** All an entry's clips, the one shown first, as clip() gives each. */
  clips(label, language) {
    return this.rows(label, language).map((i) => this.clipAt(i));
  }

  clipAt(i) {
    const [, points, dims] = this.entry.shape;
    const first = this.entry.offsets[i];
    const length = this.entry.offsets[i + 1] - first;
    const frames = new Float32Array(length * points * 3);
    const mask = new Uint8Array(length * points);
    for (let j = 0; j < length * points; j++) {
      const x = halfToFloat(this.halves[(first * points + j) * dims]);
      const y = halfToFloat(this.halves[(first * points + j) * dims + 1]);
      if (Number.isNaN(x) || Number.isNaN(y)) continue;
      mask[j] = 1;
      frames[3 * j] = x;
      frames[3 * j + 1] = y;
    }
    return { frames, mask, length };
  }

  frames(label, language) {
    const i = this.find(label, language);
    if (i === null) return null;
    const [, points, dims] = this.entry.shape;
    const out = [];
    for (let t = this.entry.offsets[i]; t < this.entry.offsets[i + 1]; t++) {
      const at = (p) => ({ x: halfToFloat(this.halves[(t * points + p) * dims]),
        y: halfToFloat(this.halves[(t * points + p) * dims + 1]) });
      const part = (first, count) => {
        const landmarks = Array.from({ length: count }, (_, k) => at(first + k));
        return landmarks.some((l) => !Number.isNaN(l.x)) ? landmarks : null;
      };
      out.push({ poseLandmarks: part(0, 33), leftHandLandmarks: part(33, 21), rightHandLandmarks: part(54, 21) });
    }
    return out;
  }
}

/** The web format's manifest.json, checked to be the format and version this page reads. */
export async function readManifest(read) {
  const manifest = JSON.parse(new TextDecoder().decode(await read('manifest.json')));
  if (manifest.format !== WEB_FORMAT || manifest.schema_version !== WEB_SCHEMA_VERSION) {
    throw new Error(`manifest.json is ${manifest.format} version ${manifest.schema_version}; this page `
      + `reads ${WEB_FORMAT} version ${WEB_SCHEMA_VERSION}: rebuild it with signclip web`);
  }
  return manifest;
}

/**
 * Everything the page needs of a bundle: {manifest, model, capture (the layout MediaPipe's results
 * come in), normalization, segmenter, vocabulary, encoder}.
 */
export async function loadWebModel(read, manifest = null) {
  manifest ??= await readManifest(read);
  const dim = manifest.embedding_dim;
  const v = manifest.vocabulary;
  const [encoder, embeddings, clips, taught, references, takes] = await Promise.all([
    readChecked(read, manifest.encoder),
    readRows(read, v.embeddings, dim),
    v.clips ? readRows(read, v.clips.embeddings, dim) : null,
    v.taught ? readRows(read, v.taught.embeddings, dim) : null,
    manifest.references ? readChecked(read, manifest.references) : null,
    v.taught?.takes ? readChecked(read, v.taught.takes) : null,
  ]);
  const web = {
    manifest,
    model: modelLayout(manifest),
    capture: new Layout('holistic543', manifest.capture_layout),
    normalization: normalizationConfig(manifest.normalization),
    segmenter: manifest.segmenter,
    fps: manifest.fps, // the rate the model reads at: the camera's frames are brought to it
    spelling: manifest.spelling,
    vocabulary: new Vocabulary(manifest, embeddings, clips, taught),
    references: references ? new References(manifest.references, new Uint16Array(references)) : null,
    encoder: new Uint8Array(encoder),
  };
  // signs are re-ranked by their reference clips and the packs' takes (templates.js), as the Python
  // engine does
  const taughtTakes = takes ? new References(v.taught.takes, new Uint16Array(takes)) : null;
  if (web.references || taughtTakes) {
    web.vocabulary.templates = new ReferenceTemplates(web.references, web, TEMPLATE, taughtTakes);
  }
  return web;
}

/** What the pose encoder needs of a loaded bundle (loadWebModel), the hand view included. */
export function encoderOptions(web) {
  const m = web.manifest;
  return { maxFrames: m.max_frames, embeddingDim: m.embedding_dim, features: web.model.points * 3,
    handView: web.normalization.hand_view, model: web.model };
}

/**
 * The word list of a spoken language for the Spell mode's prior ({language, words, zipf}), or null
 * where the bundle's web format ships none for it.
 */
export async function loadWordList(read, manifest, spoken) {
  const entry = manifest.spelling?.words?.[spoken];
  if (!entry) return null;
  return JSON.parse(new TextDecoder().decode(await readChecked(read, entry)));
}
