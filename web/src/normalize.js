// runtime/pose/normalize.py in JavaScript: a clip in any MediaPipe-named layout to the model's input.
// Centre = shoulder midpoint and scale = 3-D shoulder distance, both averaged over the frames where
// both shoulders are seen; legs hidden (hips kept); a left-dominant clip mirrored; each hand in its
// own palm frame. A clip without shoulders keeps its hands alone (palm frames, the rest masked)
// where the bundle's `hands_alone` says so. A mask travels through every step: masked points are
// zeros and never enter the statistics. Where the Python kernels (Numba) compute in float32, Math.fround does the same here,
// so the two agree to float32 rounding.

import { BODY, LEFT_HAND, Layout, RIGHT_HAND, conversionPlan } from './layouts.js';

const f32 = Math.fround;
const OPTIONS = { // NormalizationConfig (photo_frames concerns photos, which the page does not take)
  hide_legs: true, hide_face: false, canonical_hand: true, hand_3d: false, hands_alone: false, photo_frames: 1,
  hand_view: 0, // the encoder's: the weight of a clip's hands-alone view in its embedding
};
export const HAND_LIMIT = 4.0;           // palm lengths: beyond this a hand point is a detection error
export const UNSEEN_HAND_HEIGHT = 3.0;   // shoulder widths below the shoulders: an unseen hand rests

/** The bundle's normalization options; an option this page does not know is refused. */
export function normalizationConfig(options) {
  const unknown = Object.keys(options).filter((k) => !(k in OPTIONS));
  if (unknown.length) {
    throw new Error(`the bundle's normalization has options this page does not know: ${unknown}`);
  }
  return { ...OPTIONS, ...options };
}

/** What normalization needs to know of the model layout, read from the web manifest. */
export function modelLayout(manifest) {
  const layout = new Layout('model', manifest.layout);
  const at = (c, p) => layout.indices([[c, p]])[0];
  return {
    layout,
    points: layout.size,
    shoulders: [at(BODY, 'RIGHT_SHOULDER'), at(BODY, 'LEFT_SHOULDER')],
    legs: Int32Array.from(manifest.leg_indices), // knees, ankles, heels, feet: hidden; hips kept
    face: Int32Array.from(manifest.face_indices ?? []), // the face mesh, hidden with hide_face
    flip: Int32Array.from(manifest.flip_permutation),
    wrists: { left: [at(LEFT_HAND, 'WRIST'), at(BODY, 'LEFT_WRIST')],
      right: [at(RIGHT_HAND, 'WRIST'), at(BODY, 'RIGHT_WRIST')] },
    handStarts: [at(LEFT_HAND, 'WRIST'), at(RIGHT_HAND, 'WRIST')],
    hands: { left: layout.span(LEFT_HAND), right: layout.span(RIGHT_HAND) }, // [first, count]
    isHand: Uint8Array.from(layout.points, ([c]) => (c === LEFT_HAND || c === RIGHT_HAND ? 1 : 0)),
  };
}

// ---------------------------------------------------------------- steps over whole clips

/** Re-order one frame by a conversion plan into `out` / `outMask` at point offset 0. */
function gatherFrame(frame, mask, plan, out, outMask) {
  for (let j = 0; j < plan.length; j++) {
    const i = plan[j];
    const seen = i >= 0 && mask[i];
    outMask[j] = seen ? 1 : 0;
    for (let d = 0; d < 3; d++) out[3 * j + d] = seen ? frame[3 * i + d] : 0;
  }
}

/** Add one frame's shoulder midpoint and distance to sums = [x, y, z, distance, count]. */
function accumulate(frame, mask, offset, a, b, sums) {
  const k = offset / 3;
  if (!mask[k + a] || !mask[k + b]) return;
  let d2 = 0;
  for (let d = 0; d < 3; d++) {
    const pa = frame[offset + 3 * a + d];
    const pb = frame[offset + 3 * b + d];
    sums[d] += f32(pa + pb) * 0.5;
    const diff = f32(pa - pb);
    d2 += f32(diff * diff);
  }
  sums[3] += Math.sqrt(d2);
  sums[4] += 1;
}

/** out = (frames - centre) / scale where observed, 0 elsewhere (and where `keep` says no). */
function apply(frames, mask, length, points, sums, keep = null) {
  const out = new Float32Array(length * points * 3);
  const outMask = new Uint8Array(length * points);
  const n = sums[4];
  const c = [sums[0] / n, sums[1] / n, sums[2] / n];
  const inv = sums[3] > 0 ? n / sums[3] : 1.0;
  for (let i = 0; i < length * points; i++) {
    if (!mask[i] || (keep !== null && !keep[i % points])) continue;
    outMask[i] = 1;
    for (let d = 0; d < 3; d++) out[3 * i + d] = (frames[3 * i + d] - c[d]) * inv;
  }
  return [out, outMask];
}

function hide(frames, mask, points, indices) {
  const out = frames.slice();
  const outMask = mask.slice();
  for (let t = 0; t < mask.length / points; t++) {
    for (const k of indices) {
      outMask[t * points + k] = 0;
      out.fill(0, 3 * (t * points + k), 3 * (t * points + k + 1));
    }
  }
  return [out, outMask];
}

/** Mirror a normalized clip: x negated, left and right points swapped (the model's permutation). */
function flip(frames, mask, points, perm) {
  const out = new Float32Array(frames.length);
  const outMask = new Uint8Array(mask.length);
  for (let t = 0; t < mask.length / points; t++) {
    for (let k = 0; k < points; k++) {
      const src = t * points + perm[k];
      const dst = t * points + k;
      outMask[dst] = mask[src];
      out[3 * dst] = mask[src] ? -frames[3 * src] : 0;
      out[3 * dst + 1] = frames[3 * src + 1];
      out[3 * dst + 2] = frames[3 * src + 2];
    }
  }
  return [out, outMask];
}

function meanHeight(frames, mask, points, [own, body]) {
  const length = mask.length / points;
  let total = 0;
  for (let t = 0; t < length; t++) {
    if (mask[t * points + own]) total += frames[3 * (t * points + own) + 1];
    else if (mask[t * points + body]) total += frames[3 * (t * points + body) + 1];
    else total += UNSEEN_HAND_HEIGHT;
  }
  return total / Math.max(length, 1);
}

/** 'right' or 'left': the hand held higher over the clip (y down); see dominant_hand in Python. */
export function dominantHand(frames, mask, model) {
  const left = meanHeight(frames, mask, model.points, model.wrists.left);
  const right = meanHeight(frames, mask, model.points, model.wrists.right);
  return left < right ? 'left' : 'right';
}

function median(values) {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Each hand in its palm frame: wrist at 0, wrist->middle MCP along +y, palm normal +z, scaled by the
 * hand's median palm length over the clip (one frame's collapses when the palm faces the camera).
 */
function hands3d(frames, mask, points, starts) {
  const out = frames.slice();
  const length = mask.length / points;
  const lengths = new Float64Array(length);
  const p = (t, k, d) => frames[3 * (t * points + k) + d];
  for (const s of starts) {
    const [w, i, m, q] = [s, s + 5, s + 9, s + 17]; // wrist, index MCP, middle MCP, pinky MCP
    const seen = [];
    for (let t = 0; t < length; t++) {
      lengths[t] = 0;
      const row = t * points;
      if (mask[row + w] && mask[row + i] && mask[row + m] && mask[row + q]) {
        const dx = f32(p(t, m, 0) - p(t, w, 0));
        const dy = f32(p(t, m, 1) - p(t, w, 1));
        const dz = f32(p(t, m, 2) - p(t, w, 2));
        lengths[t] = f32(Math.sqrt(f32(f32(f32(dx * dx) + f32(dy * dy)) + f32(dz * dz))));
        if (lengths[t] > 0) seen.push(lengths[t]);
      }
    }
    if (!seen.length) continue;
    const scale = median(seen);
    for (let t = 0; t < length; t++) {
      const len = lengths[t];
      if (len <= 0) continue;
      const y = [0, 1, 2].map((d) => f32(p(t, m, d) - p(t, w, d)) / len);
      const across = [0, 1, 2].map((d) => f32(p(t, i, d) - p(t, q, d)));
      let z = cross(across, y);
      const zn = Math.sqrt(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
      if (zn === 0) continue;
      z = z.map((v) => v / zn);
      const x = cross(y, z);
      for (let k = s; k < s + 21; k++) {
        const v = [0, 1, 2].map((d) => f32(p(t, k, d) - p(t, w, d)) / scale);
        const o = 3 * (t * points + k);
        out[o] = clamp(v[0] * x[0] + v[1] * x[1] + v[2] * x[2]);
        out[o + 1] = clamp(v[0] * y[0] + v[1] * y[1] + v[2] * y[2]);
        out[o + 2] = clamp(v[0] * z[0] + v[1] * z[1] + v[2] * z[2]);
      }
    }
  }
  return out;
}

const cross = ([ax, ay, az], [bx, by, bz]) => [ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx];
const clamp = (v) => Math.min(Math.max(v, -HAND_LIMIT), HAND_LIMIT);

/** The points the config masks in every frame: legs, face. */
function hiddenPoints(model, config) {
  return [...(config.hide_legs ? model.legs : []), ...(config.hide_face ? model.face : [])];
}

/** The steps after normalization, on model-layout frames: hidden points, dominant hand, hand frames. */
function finish(frames, mask, model, config, hidden) {
  const n = model.points;
  if (!hidden && (config.hide_legs || config.hide_face)) {
    [frames, mask] = hide(frames, mask, n, hiddenPoints(model, config));
  }
  let flipped = false;
  if (config.canonical_hand && dominantHand(frames, mask, model) === 'left') {
    [frames, mask] = flip(frames, mask, n, model.flip);
    flipped = true;
  }
  // the frames before the palm frames: sign templates compare hands as the camera saw them
  const plain = config.hand_3d ? frames : null;
  if (config.hand_3d) frames = hands3d(frames, mask, n, model.handStarts);
  return { frames, mask, length: mask.length / n, points: n, flipped, plain };
}

function noShoulders() {
  return new Error('no frame shows both shoulders: cannot normalize (is anybody there?)');
}

/** 'right' or 'left' without a body: the hand seen in more frames; on a tie, the higher one. */
function dominantHandAlone(frames, mask, model) {
  const n = model.points;
  const length = mask.length / n;
  const [seen, height] = [[], []];
  for (const [first, count] of [model.hands.left, model.hands.right]) {
    let frameCount = 0;
    let total = 0;
    let points = 0;
    for (let t = 0; t < length; t++) {
      let any = false;
      for (let k = first; k < first + count; k++) {
        if (!mask[t * n + k]) continue;
        any = true;
        total += frames[3 * (t * n + k) + 1];
        points += 1;
      }
      frameCount += any ? 1 : 0;
    }
    seen.push(frameCount);
    height.push(points ? total / points : Infinity);
  }
  if (seen[0] !== seen[1]) return seen[0] > seen[1] ? 'left' : 'right';
  return height[0] < height[1] ? 'left' : 'right'; // image y grows downwards
}

/** A wrist this far below the shoulder line (shoulder widths) rests (runtime/pose/normalize.py). */
export const RESTING_BELOW = 1.2;

/** Of a model input's frames, the share where both body wrists are raised above RESTING_BELOW must exceed this
 * for the clip to use both hands (runtime/recognition/kinds.py's BOTH_HANDS_SHARE). */
export const BOTH_HANDS_SHARE = 0.5;

/** Whether both hands are raised in most frames (kinds.py's uses_both_hands): the less raised wrist's share. */
export function usesBothHands(input, model) {
  const n = model.points;
  const shares = ['left', 'right'].map((side) => {
    const wrist = model.wrists[side][1];
    let up = 0;
    for (let t = 0; t < input.length; t++) {
      if (input.mask[t * n + wrist] && Math.fround(input.frames[(t * n + wrist) * 3 + 1]) < RESTING_BELOW) up++;
    }
    return input.length ? up / input.length : 0;
  });
  return Math.min(...shares) > BOTH_HANDS_SHARE;
}

/**
 * A model input seen by its hands alone (runtime/pose/normalize.py hands_view), or null where that adds
 * nothing: no hand seen, or nothing else seen. Its hands are already in palm frames: masking is enough.
 */
export function handsView(input, model) {
  const { isHand } = model;
  const n = isHand.length;
  let hand = false;
  let other = false;
  input.mask.forEach((m, i) => {
    if (m && isHand[i % n]) hand = true;
    else if (m) other = true;
  });
  if (!hand || !other) return null;
  const [frames, mask] = keepHands(input.frames, input.mask, isHand);
  // a hand whose wrist rests below the shoulders' RESTING_BELOW in a frame is left out of it
  for (const side of ['left', 'right']) {
    const wrist = model.wrists[side][1]; // the body's wrist: in shoulder widths below the shoulders
    const [first, count] = model.hands[side];
    for (let t = 0; t < input.length; t++) {
      if (!input.mask[t * n + wrist] || !(input.frames[(t * n + wrist) * 3 + 1] > RESTING_BELOW)) continue;
      for (let k = first; k < first + count; k++) {
        mask[t * n + k] = 0;
        frames.fill(0, (t * n + k) * 3, (t * n + k) * 3 + 3);
      }
    }
  }
  if (!mask.some((m) => m)) return null;
  return { ...input, frames, mask };
}

/** [frames, mask] with every point that is not a hand's masked and zeroed (isHand: per point). */
function keepHands(frames, mask, isHand) {
  const n = isHand.length;
  const outMask = Uint8Array.from(mask, (m, i) => (m && isHand[i % n] ? 1 : 0));
  return [Float32Array.from(frames, (v, i) => (outMask[Math.floor(i / 3)] ? v : 0)), outMask];
}

/**
 * A clip without shoulders, raw model-layout frames: each hand in its palm frame (centred on the
 * wrist, scaled by the palm: no body needed), everything else masked.
 */
function handsAlone(frames, mask, model, config) {
  const n = model.points;
  let [out, outMask] = keepHands(frames, mask, model.isHand);
  if (!outMask.some((m) => m)) throw new Error('no frame shows both shoulders or a hand: nothing to look up');
  let flipped = false;
  if (config.canonical_hand && dominantHandAlone(out, outMask, model) === 'left') {
    [out, outMask] = flip(out, outMask, n, model.flip);
    flipped = true;
  }
  return { frames: hands3d(out, outMask, n, model.handStarts), mask: outMask, length: outMask.length / n,
    points: n, flipped };
}

/**
 * A clip (frames [T * K * 3], mask [T * K] in `source`'s layout) to normalized model input
 * {frames [T * P * 3], mask [T * P], length T, points P, flipped}, as Python's `preprocess`.
 */
export function preprocess(frames, mask, source, model, config) {
  const k = source.size;
  const n = model.points;
  const length = mask.length / k;
  const plan = conversionPlan(source, model.layout);
  const gathered = new Float32Array(length * n * 3);
  const gatheredMask = new Uint8Array(length * n);
  const sums = new Float64Array(5);
  for (let t = 0; t < length; t++) {
    gatherFrame(frames.subarray(3 * t * k, 3 * (t + 1) * k), mask.subarray(t * k, (t + 1) * k), plan,
      gathered.subarray(3 * t * n, 3 * (t + 1) * n), gatheredMask.subarray(t * n, (t + 1) * n));
    accumulate(gathered, gatheredMask, 3 * t * n, ...model.shoulders, sums);
  }
  if (sums[4] === 0) {
    if (config.hands_alone) return handsAlone(gathered, gatheredMask, model, config);
    throw noShoulders();
  }
  let keep = null;
  if (config.hide_legs || config.hide_face) {
    keep = new Uint8Array(n).fill(1);
    for (const i of hiddenPoints(model, config)) keep[i] = 0;
  }
  const [out, outMask] = apply(gathered, gatheredMask, length, n, sums, keep);
  return finish(out, outMask, model, config, true);
}

/**
 * Frame-by-frame normalization with running shoulder statistics and constant work per frame;
 * `modelInput()` normalizes all frames pushed since `reset()` with the final statistics: equal to
 * `preprocess` of the same frames.
 */
export class StreamingNormalizer {
  constructor(source, model, config, capacity = 256) {
    this.plan = conversionPlan(source, model.layout);
    this.model = model;
    this.config = config;
    this.buf = new Float32Array(capacity * model.points * 3);
    this.bufMask = new Uint8Array(capacity * model.points);
    this.reset();
  }

  reset() {
    this.sums = new Float64Array(5);
    this.count = 0;
  }

  get hasShoulders() {
    return this.sums[4] > 0;
  }

  /** Add one frame [K * 3] + mask [K] of the source layout. */
  push(frame, mask) {
    const n = this.model.points;
    if ((this.count + 1) * n > this.bufMask.length) { // amortized doubling: constant cost per frame
      const buf = new Float32Array(this.buf.length * 2);
      const bufMask = new Uint8Array(this.bufMask.length * 2);
      buf.set(this.buf);
      bufMask.set(this.bufMask);
      this.buf = buf;
      this.bufMask = bufMask;
    }
    const t = this.count++;
    gatherFrame(frame, mask, this.plan, this.buf.subarray(3 * t * n, 3 * (t + 1) * n),
      this.bufMask.subarray(t * n, (t + 1) * n));
    accumulate(this.buf, this.bufMask, 3 * t * n, ...this.model.shoulders, this.sums);
  }

  /** The frames pushed so far in the model layout, before normalization (copies). */
  raw() {
    const n = this.model.points;
    return { frames: this.buf.slice(0, 3 * this.count * n), mask: this.bufMask.slice(0, this.count * n) };
  }

  modelInput() {
    const n = this.model.points;
    if (!this.hasShoulders) {
      if (!this.config.hands_alone) throw noShoulders();
      const { frames, mask } = this.raw();
      return handsAlone(frames, mask, this.model, this.config);
    }
    const [out, mask] = apply(this.buf.subarray(0, 3 * this.count * n), this.bufMask.subarray(0, this.count * n),
      this.count, n, this.sums);
    return finish(out, mask, this.model, this.config, false);
  }
}
