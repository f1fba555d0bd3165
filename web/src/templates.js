// runtime/recognition/templates.py in JavaScript: word candidates re-ranked by subsequence DTW against
// the bundle's reference clips. Per frame at 15 fps: both wrists from the shoulders' midpoint in
// shoulder widths, each hand's 21 points from its wrist in palm lengths (x 0.35); the reference may
// match any stretch of the clip, the clip is tried mirrored too, and each candidate's z-scored cosine
// gets its z-scored alignment added, on the cosines' scale. tests/web/test_templates_page.py checks
// features, distances and the re-ranked lookups equal to Python's.

import { BODY, FACE, LEFT_HAND, Layout, RIGHT_HAND } from './layouts.js';
import { preprocess } from './normalize.js';
import { frameRepeats } from './recognizer.js';
import { ANY_LANGUAGE, dictionaryKey } from './search.js';

export const TEMPLATE = { fps: 15, handWeight: 0.35, penalty: 0.1, weight: 5 }; // TemplateConfig
export const FEATURES = 2 * 2 + 2 * 21 * 2;

/** The frames of a clip at `fps` (Python's rate_indices). */
function rateIndices(n, sourceFps, fps) {
  const out = [];
  for (let i = 0; i < n; i++) for (let r = frameRepeats(i, sourceFps, fps); r > 0; r--) out.push(i);
  return out;
}

/** Template features [T' * 88] (Float64Array, row-major) of a model input at `fps`, or null where no
 * frame shows a wrist; `model` is modelLayout's. */
export function templateFeatures(input, model, fps, config = TEMPLATE) {
  const frames = input.plain ?? input.frames;
  const n = input.points;
  const wrists = [model.wrists.left[1], model.wrists.right[1]];
  const seen = (w) => Array.from({ length: input.length }, (_, t) => input.mask[t * n + w]).some(Boolean);
  if (!wrists.some(seen)) return null;
  const hands = [model.hands.left[0], model.hands.right[0]];
  const idx = rateIndices(input.length, fps, config.fps);
  const out = new Float64Array(idx.length * FEATURES);
  const x = (t, k, d) => frames[3 * (t * n + k) + d];
  idx.forEach((t, row) => {
    const o = row * FEATURES;
    wrists.forEach((w, s) => {
      if (!input.mask[t * n + w]) return;
      out[o + 2 * s] = x(t, w, 0);
      out[o + 2 * s + 1] = x(t, w, 1);
    });
    hands.forEach((first, s) => {
      let seen = true;
      for (let k = 0; k < 21; k++) seen &&= Boolean(input.mask[t * n + first + k]);
      const dx = x(t, first + 9, 0) - x(t, first, 0); // the middle finger's MCP
      const dy = x(t, first + 9, 1) - x(t, first, 1);
      const palm = Math.hypot(dx, dy);
      if (!seen || !(palm > 1e-6)) return;
      for (let k = 0; k < 21; k++) {
        for (let d = 0; d < 2; d++) {
          out[o + 4 + 42 * s + 2 * k + d] = ((x(t, first + k, d) - x(t, first, d)) / palm) * config.handWeight;
        }
      }
    });
  });
  return out;
}

/** The features of the clip seen in a mirror: every x negated, left and right swapped. */
export function mirrored(features) {
  const rows = features.length / FEATURES;
  const range = (first) => Array.from({ length: 42 }, (_, i) => first + i);
  const from = [2, 3, 0, 1, ...range(46), ...range(4)]; // templates.py's MIRROR
  const out = new Float64Array(features.length);
  for (let t = 0; t < rows; t++) {
    for (let f = 0; f < FEATURES; f++) {
      const v = features[t * FEATURES + from[f]];
      out[t * FEATURES + f] = from[f] % 2 === 0 ? -v : v;
    }
  }
  return out;
}

/** The best match of `reference` anywhere in `series` (both [T * 88]): sqrt(cost / reference length). */
export function subsequenceDistance(reference, series, penalty = TEMPLATE.penalty) {
  const n = reference.length / FEATURES;
  const m = series.length / FEATURES;
  const step = penalty * penalty;
  let previous = new Float64Array(m + 1); // a match may start at any frame of the series
  let current = new Float64Array(m + 1);
  for (let i = 0; i < n; i++) {
    current[0] = Infinity;
    for (let j = 0; j < m; j++) {
      let d = 0;
      for (let f = 0; f < FEATURES; f++) {
        const diff = reference[i * FEATURES + f] - series[j * FEATURES + f];
        d += diff * diff;
      }
      current[j + 1] = d + Math.min(previous[j], previous[j + 1] + step, current[j] + step);
    }
    [previous, current] = [current, previous];
  }
  let best = Infinity;
  for (let j = 1; j <= m; j++) best = Math.min(best, previous[j]);
  return Math.sqrt(best / n);
}

/** A clip's distance to each candidate, given as a list of its references' features: to the nearest
 * (NaN where it has none), the better of the clip and its mirror image, made once for all. */
export function templateNearest(references, features, config = TEMPLATE) {
  const views = [features, mirrored(features)];
  return references.map((refs) => (refs.length === 0 ? NaN
    : Math.min(...refs.flatMap((r) => views.map((v) => subsequenceDistance(r, v, config.penalty))))));
}

const meanSd = (values) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return [mean, sd || 1];
};

/** Scores with each candidate's z-scored alignment added (NaN distance: no reference, the mean). */
export function rerank(scores, distances, weight) {
  const have = distances.map((d) => !Number.isNaN(d));
  if (have.filter(Boolean).length < 2 || scores.length < 2) return scores.slice();
  const [mean, spread] = meanSd(scores);
  const near = distances.filter((_, i) => have[i]).map((d) => -d);
  const [nearMean, nearSd] = meanSd(near);
  return scores.map((s, i) => {
    const aligned = have[i] ? (-distances[i] - nearMean) / nearSd : 0;
    return mean + (spread * ((s - mean) / spread + weight * aligned)) / (1 + weight);
  });
}

/** The bundle's reference clips and the packs' kept takes (both References, either may be null) as
 * template features, made on first use, and the re-ranking. */
export class ReferenceTemplates {
  constructor(references, web, config = TEMPLATE, takes = null) {
    this.references = references;
    this.web = web; // {model, capture, normalization, fps}
    this.config = config;
    this.features = new Map();
    // references.npz's points: the capture layout's body and hands, in order (BODY_HANDS_75)
    this.layout = new Layout('bodyhands75', web.capture.points.filter(([c]) => c !== FACE
      && [BODY, LEFT_HAND, RIGHT_HAND].includes(c)));
    // (folded label, language) -> the taught takes' features (engine.py's taught_templates)
    this.taught = new Map();
    takes?.entry.labels.forEach((label, i) => {
      const made = this.make(takes.clipAt(i), takes.fps);
      if (made === null) return;
      const key = `${dictionaryKey(label)}\u0000${takes.entry.languages[i]}`;
      this.taught.set(key, [...(this.taught.get(key) ?? []), made]);
    });
  }

  /** An entry's references as template features, the shown clip's first; [] where it has none. */
  of(label, language) {
    const key = `${label}\u0000${language}`;
    if (!this.features.has(key)) {
      const made = (this.references?.clips(label, language) ?? []).map((c) => this.make(c, this.references.fps));
      this.features.set(key, made.filter((f) => f !== null));
    }
    return this.features.get(key);
  }

  /** The taught takes of a word spelled as `label`, taught in `language` or in any. */
  takesOf(label, language) {
    const key = dictionaryKey(label);
    return [...(this.taught.get(`${key}\u0000${language}`) ?? []), ...(this.taught.get(`${key}\u0000`) ?? [])];
  }

  /** Whether a taught match's takes re-rank a candidate sign (`named`: [folded label, language] of
   * each) instead of standing beside it (engine.py's _read_as_bundle_sign). */
  readsAsBundleSign(match, named) {
    const key = dictionaryKey(match.label);
    if (!this.taught.get(`${key}\u0000${match.language}`)?.length) return false;
    return named.some(([k, lang]) => k === key && [lang, ANY_LANGUAGE].includes(match.language));
  }

  make(clip, fps) {
    try {
      const input = preprocess(clip.frames, clip.mask, this.layout, this.web.model, this.web.normalization);
      return templateFeatures(input, this.web.model, fps, this.config);
    } catch {
      return null; // a reference without shoulders has no location
    }
  }

  /** hits [{id, score}] and their [label, language] `keys`, re-ranked by alignment with `input`. */
  rerank(hits, keys, input) {
    const series = templateFeatures(input, this.web.model, this.web.fps, this.config);
    if (series === null || hits.length < 2) return hits;
    const distances = templateNearest(keys.map(([label, language]) => [...this.of(label, language),
      ...this.takesOf(label, language)]), series, this.config);
    const scores = rerank(hits.map((h) => h.score), distances, this.config.weight);
    return hits.map((h, i) => ({ id: h.id, score: scores[i] }))
      .map((h, i) => [h, i]).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).map(([h]) => h);
  }
}
