// Where signs start and end in a stream of keypoint frames: runtime/recognition/segmentation.py's hand-activity
// segmenter, line for line. Heights are in shoulder widths below a running estimate of the shoulder
// line; the thresholds come from the bundle's web manifest (Python's SegmenterConfig), so the two
// cannot drift apart.

import { BODY, LEFT_HAND, RIGHT_HAND } from './layouts.js';
import { roundHalfEven } from './numeric.js';

/** SegmenterConfig's times (seconds) in frames at one frame rate (FrameCounts.of). */
export function frameCounts(config, fps) {
  const frames = (s, least = 0) => Math.max(least, roundHalfEven(s * fps));
  return {
    start: frames(config.start_s, 1),
    end: frames(config.end_s, 1),
    maxGap: frames(config.max_gap_s),
    minSign: frames(config.min_sign_s, 1),
    maxSign: frames(config.max_sign_s, 2),
    preRoll: frames(config.pre_roll_s),
    postRoll: Math.min(frames(config.post_roll_s), frames(config.end_s, 1) - 1),
  };
}

/** Indices of the points the segmenter reads (-1 where the layout lacks one). */
export function handPoints(layout) {
  const shoulders = [layout.at(BODY, 'RIGHT_SHOULDER'), layout.at(BODY, 'LEFT_SHOULDER')];
  if (shoulders.some((i) => i < 0)) {
    throw new Error(`layout ${layout.name} has no shoulders: cannot segment signs`);
  }
  const wrists = [ // per side (right, left): [hand model wrist, body wrist]
    [layout.at(RIGHT_HAND, 'WRIST'), layout.at(BODY, 'RIGHT_WRIST')],
    [layout.at(LEFT_HAND, 'WRIST'), layout.at(BODY, 'LEFT_WRIST')],
  ];
  if (wrists.flat().every((i) => i < 0)) {
    throw new Error(`layout ${layout.name} has no wrists: cannot segment signs`);
  }
  return { shoulders, wrists };
}

/**
 * Update the running shoulders (state[0..2] = centre x, y, width; state[3] = seen) and each wrist's
 * last position and speed (state[4 + 4 * side ..] = x, y, speed, seen); write each side's height
 * below the shoulders to out[2 * side] and its speed to out[2 * side + 1].
 */
function measure(frame, mask, points, state, alpha, beta, fps, out) {
  const [a, b] = points.shoulders;
  if (mask[a] && mask[b]) {
    const cx = (frame[3 * a] + frame[3 * b]) * 0.5;
    const cy = (frame[3 * a + 1] + frame[3 * b + 1]) * 0.5;
    const dx = frame[3 * a] - frame[3 * b];
    const dy = frame[3 * a + 1] - frame[3 * b + 1];
    const width = Math.sqrt(dx * dx + dy * dy);
    if (width > 0) {
      if (state[3] === 0) {
        state[0] = cx; state[1] = cy; state[2] = width; state[3] = 1;
      } else {
        state[0] += alpha * (cx - state[0]);
        state[1] += alpha * (cy - state[1]);
        state[2] += alpha * (width - state[2]);
      }
    }
  }
  for (let side = 0; side < 2; side++) {
    out[2 * side] = Infinity;
    out[2 * side + 1] = 0;
    const s = 4 + 4 * side;
    if (state[3] === 0) {
      state[s + 3] = 0;
      continue;
    }
    let point = -1;
    for (const i of points.wrists[side]) { // the hand model's wrist is sharper; the body's is found more often
      if (i >= 0 && mask[i]) {
        point = i;
        break;
      }
    }
    if (point < 0) {
      state[s + 3] = 0;
      continue;
    }
    const x = (frame[3 * point] - state[0]) / state[2];
    const y = (frame[3 * point + 1] - state[1]) / state[2];
    if (state[s + 3] !== 0) {
      const step = Math.sqrt((x - state[s]) ** 2 + (y - state[s + 1]) ** 2) * fps;
      state[s + 2] += beta * (step - state[s + 2]);
    } else {
      state[s + 2] = 0;
    }
    state[s] = x; state[s + 1] = y; state[s + 3] = 1;
    out[2 * side] = y;
    out[2 * side + 1] = state[s + 2];
  }
}

/**
 * Frame by frame: is a hand in the signing space (or moving low in it)? With hysteresis on the
 * height line and in time, gap filling for missed detections, and minimum/maximum sign lengths.
 * `step` returns {ended: [start, end) or null, started: first frame or null}.
 */
export class HandActivitySegmenter {
  constructor(layout, fps, config) {
    if (!(fps > 0)) throw new Error(`fps ${fps}: must be positive`);
    this.layout = layout;
    this.fps = fps;
    this.config = config;
    this.frames = frameCounts(config, fps);
    this.points = handPoints(layout);
    this.state = new Float64Array(12);
    this.out = new Float64Array(4);
    this.reset();
  }

  reset() {
    this.state.fill(0);
    this.t = 0;              // index of the next frame
    this.inSign = false;
    this.start = 0;          // first frame of the current sign
    this.lastActive = -1;    // last frame that was active
    this.lastEnd = 0;        // end of the previous sign: a pre-roll never reaches before it
    this.streak = 0;         // consecutive active frames while resting
    this.gap = 0;            // consecutive frames with no wrist seen
  }

  /** true: a hand is in the signing space; false: the hands rest; null: no wrist seen. */
  activity(frame, mask) {
    const c = this.config;
    measure(frame, mask, this.points, this.state, c.shoulder_smoothing, c.speed_smoothing, this.fps,
      this.out);
    const heights = [this.out[0], this.out[2]];
    const speeds = [this.out[1], this.out[3]];
    if (heights.every((h) => h === Infinity)) return null;
    const line = this.inSign ? c.rest_line : c.rise_line;
    return heights.some((h) => h < line)
      || heights.some((h, i) => h < c.rest_line && speeds[i] >= c.move_speed);
  }

  step(frame, mask) {
    const t = this.t++;
    const active = this.activity(frame, mask);
    const f = this.frames;
    // a short run of frames without any wrist (missed detections) changes nothing; a longer one
    // means the hands left the frame, which ends a sign where they were last seen
    this.gap = active === null ? this.gap + 1 : 0;
    const left = this.gap > f.maxGap;
    if (!this.inSign) {
      if (active || (active === null && !left)) {
        this.streak += active ? 1 : 0;
      } else {
        this.streak = 0;
      }
      if (this.streak < f.start) return { ended: null, started: null };
      this.inSign = true;
      this.lastActive = t;
      const first = active ? t - this.streak + 1 : t;
      this.start = Math.max(first - f.preRoll, this.lastEnd);
      return { ended: null, started: this.start };
    }
    if (active) this.lastActive = t;
    if (left || t - this.lastActive >= f.end) {
      return { ended: this.close(Math.min(t + 1, this.lastActive + 1 + f.postRoll)), started: null };
    }
    if (t - this.start >= f.maxSign) { // too long: cut before this frame
      const ended = this.close(Math.min(t, this.lastActive + 1 + f.postRoll));
      if (!active) return { ended, started: null };
      this.inSign = true;
      this.start = t;
      this.lastActive = t;
      return { ended, started: t };
    }
    return { ended: null, started: null };
  }

  /** The running shoulder estimate after the last frame: [centre x, centre y, width, seen]. */
  get shoulders() {
    return this.state.subarray(0, 4);
  }

  /** Frames before this index surely belong to the current sign (rest after it may not). */
  committed() {
    return Math.min(this.t, this.lastActive + 1 + this.frames.postRoll);
  }

  /** End of stream: [start, end) of the sign still open, if any. */
  finish() {
    return this.inSign ? this.close(this.committed()) : null;
  }

  close(end) {
    const start = this.start;
    this.inSign = false;
    this.streak = 0;
    this.lastEnd = end;
    return end - start >= this.frames.minSign ? [start, end] : null;
  }
}
