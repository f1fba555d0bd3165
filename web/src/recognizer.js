// Keypoint frames in, finished signs out, one frame at a time with constant work per frame:
// runtime/recognition/recognizer.py's hand-activity path. Each frame goes through the segmenter; the frames of
// the current sign go into a StreamingNormalizer (reset at each sign's start, pre-roll frames from a
// small ring). A finished sign comes out with its model input, equal to the offline `preprocess` of
// the same frames; encoding it is the caller's job (ONNX Runtime Web answers asynchronously).

import { StreamingNormalizer } from './normalize.js';
import { HandActivitySegmenter } from './segmentation.js';

/** The last `size` raw frames with their source index and time, for pre-roll and pending rest. */
export class FrameRing {
  constructor(size, points) {
    this.size = size;
    this.points = points;
    this.frames = new Float32Array(size * points * 3);
    this.mask = new Uint8Array(size * points);
    this.index = new Float64Array(size);
    this.time = new Float64Array(size);
  }

  store(t, frame, mask, index, timeS) {
    const i = t % this.size;
    this.frames.set(frame, i * this.points * 3);
    this.mask.set(mask, i * this.points);
    this.index[i] = index;
    this.time[i] = timeS;
  }

  get(t) {
    const i = t % this.size;
    const k = this.points;
    return [this.frames.subarray(i * k * 3, (i + 1) * k * 3), this.mask.subarray(i * k, (i + 1) * k)];
  }

  stamp(t) {
    const i = t % this.size;
    return [this.index[i], this.time[i]];
  }
}

/** How often source frame i appears at `fps` (runtime/pose/timing.py's frame_repeats): the output frames
 * whose time is nearest to it; rates within 1% are one rate. */
export function frameRepeats(i, sourceFps, fps) {
  if (sourceFps <= 0 || fps <= 0 || Math.abs(sourceFps - fps) <= 0.01 * fps) return 1;
  const step = sourceFps / fps;
  return Math.max(0, Math.ceil((i + 0.5) / step) - Math.ceil((i - 0.5) / step));
}

/**
 * Feed frames with `push(frame, mask, {index, timeS})`; it returns the signs that frame ended, each
 * {startFrame, endFrame, startS, endS, decidedFrame, input} where `input` is the model input (null
 * for a segment without shoulders), and with `keepRaw` also `raw`, its frames before normalization
 * (model layout). Call `finish()` at the end of the stream.
 */
export class Recognizer {
  constructor(layout, fps, { model, segmenter, normalization, keepRaw = false, sourceFps = null }) {
    this.layout = layout;
    this.fps = fps;
    // frames arrive at sourceFps (a camera's 30) and are read at fps (the bundle's 25): each dropped or
    // repeated as runtime/pose/timing.py's frame_repeats says
    this.sourceFps = sourceFps ?? fps;
    this.sourceT = 0;
    this.keepRaw = keepRaw;
    this.segmenter = new HandActivitySegmenter(layout, fps, segmenter);
    const f = this.segmenter.frames;
    this.ring = new FrameRing(Math.max(f.start + f.preRoll, f.end) + 2, layout.size);
    this.normalizer = new StreamingNormalizer(layout, model, normalization);
    this.t = 0;
    this.open = false;
    this.startStamp = [0, 0];   // source index and time of the open sign's first frame
    this.pushed = 0;            // frames of the open sign already in the normalizer: [start, pushed)
  }

  /** A sign has started and not yet ended. */
  get inSign() {
    return this.open;
  }

  push(frame, mask, { index = null, timeS = null } = {}) {
    const at = index ?? this.sourceT; // the frame's number in the source: what signs are reported in
    const seconds = timeS ?? at / this.sourceFps;
    const repeats = frameRepeats(this.sourceT++, this.sourceFps, this.fps);
    const ended = [];
    for (let r = 0; r < repeats; r++) ended.push(...this.pushAtRate(frame, mask, at, seconds));
    return ended;
  }

  pushAtRate(frame, mask, index, timeS) {
    const t = this.t++;
    this.ring.store(t, frame, mask, index, timeS);
    return this.signStep(frame, mask).map((r) => this.event(r, t));
  }

  /** End of stream: the sign still open (if long enough). */
  finish() {
    const ended = this.segmenter.finish();
    if (!this.open || ended === null) {
      this.open = false;
      return [];
    }
    this.catchUp(ended[1]);
    this.open = false;
    return [this.event({ span: ended, ...this.finished(), first: this.startStamp }, this.t - 1)];
  }

  /** Push the open sign's frames up to `until` (exclusive) into the normalizer, from the ring. */
  catchUp(until) {
    for (let u = this.pushed; u < until; u++) this.normalizer.push(...this.ring.get(u));
    this.pushed = Math.max(this.pushed, until);
  }

  signStep(frame, mask) {
    const seg = this.segmenter;
    const decision = seg.step(frame, mask);
    const ready = [];
    if (this.open && (decision.ended !== null || decision.started !== null || !seg.inSign)) {
      if (decision.ended !== null) { // else: too short, dropped
        this.catchUp(decision.ended[1]);
        ready.push({ span: decision.ended, ...this.finished(), first: this.startStamp });
      }
      this.open = false;
    }
    if (decision.started !== null) {
      this.normalizer.reset();
      this.open = true;
      this.pushed = decision.started;
      this.startStamp = this.ring.stamp(decision.started);
    }
    if (this.open) this.catchUp(seg.committed());
    return ready;
  }

  /** The open sign's model input (null without shoulders), and its raw frames if kept. */
  finished() {
    const input = this.normalizer.hasShoulders ? this.normalizer.modelInput() : null;
    return this.keepRaw ? { input, raw: this.normalizer.raw() } : { input };
  }

  event({ span, input, raw, first }, decided) {
    const [last, lastS] = this.ring.stamp(span[1] - 1);
    return {
      startFrame: first[0], endFrame: last + 1, startS: first[1], endS: lastS + 1 / this.sourceFps,
      decidedFrame: this.ring.stamp(decided)[0], input, ...(raw ? { raw } : {}),
    };
  }
}
