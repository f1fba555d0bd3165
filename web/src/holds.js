// Where a fingerspelling hand holds a letter: runtime/recognition/holds.py's HoldTracker, line for line. The
// signing hand's 21 points relative to its wrist are its shape, its wrist relative to the running
// shoulders its place, both in shoulder widths. A hold starts after a short run of steady frames and
// ends at the first frame that changes either one clearly or drifts too far from the hold's mean.
// The thresholds come from the bundle's web manifest (Python's HoldConfig).

import { LEFT_HAND, RIGHT_HAND } from './layouts.js';
import { roundHalfEven } from './numeric.js';

const RIGHT = 0;
const LEFT = 1;
const NOTHING = Object.freeze({ started: null, ended: null });

/** Indices [2][21] of the right and left hand's points (-1 where the layout lacks one). */
export function handPointsOf(layout, names) {
  const points = [RIGHT_HAND, LEFT_HAND].map((hand) => Int32Array.from(names, (p) => layout.at(hand, p)));
  if (points.every((side) => side.some((i) => i < 0))) {
    throw new Error(`layout ${layout.name} has no complete hand: cannot read fingerspelling`);
  }
  return points;
}

/** Fill shape [21 * 2] and place [2] of one hand; its wrist's height below the shoulders, or Infinity. */
function measureHand(frame, mask, points, shoulders, shape, place) {
  const width = shoulders[2];
  for (const i of points) if (i < 0 || !mask[i]) return Infinity;
  const w = points[0];
  points.forEach((i, j) => { // float32 differences, as the Numba kernel computes them from float32 frames
    shape[2 * j] = Math.fround(frame[3 * i] - frame[3 * w]) / width;
    shape[2 * j + 1] = Math.fround(frame[3 * i + 1] - frame[3 * w + 1]) / width;
  });
  place[0] = (frame[3 * w] - shoulders[0]) / width;
  place[1] = (frame[3 * w + 1] - shoulders[1]) / width;
  return place[1];
}

/** Mean distance between matching points of a and b (flat [N * 2]). */
function distance(a, b) {
  let total = 0;
  const n = a.length / 2;
  for (let j = 0; j < n; j++) total += Math.sqrt((a[2 * j] - b[2 * j]) ** 2 + (a[2 * j + 1] - b[2 * j + 1]) ** 2);
  return total / n;
}

/**
 * Feed frames with `step(frame, mask, shoulders)`; each returns {started, ended}: the first frame of
 * a new hold, or [start, end) of a finished one. `path` is how far the wrist travelled since the
 * last hold ended (a double letter's bounce or slide).
 */
export class HoldTracker {
  constructor(layout, fps, config, handPointNames) {
    if (!(fps > 0)) throw new Error(`fps ${fps}: must be positive`);
    this.config = config;
    this.fps = fps;
    this.points = handPointsOf(layout, handPointNames);
    const n = handPointNames.length;
    this.complete = this.points.map((side) => side.every((i) => i >= 0));
    this.holdFrames = Math.max(2, roundHalfEven(config.hold_s * fps));
    this.gapFrames = roundHalfEven(config.max_gap_s * fps);
    this.shiftFrames = Math.max(1, roundHalfEven(config.shift_s * fps));
    this.recent = Array.from({ length: this.shiftFrames + 1 }, () => new Float64Array(2 * n));
    this.recentT = new Array(this.shiftFrames + 1).fill(-1);
    this.shape = [new Float64Array(2 * n), new Float64Array(2 * n)];
    this.place = [new Float64Array(2), new Float64Array(2)];
    this.prevShape = new Float64Array(2 * n);
    this.prevPlace = new Float64Array(2);
    this.sumShape = new Float64Array(2 * n);
    this.sumPlace = new Float64Array(2);
    this.mean = new Float64Array(2 * n);
    this.reset();
  }

  reset() {
    this.t = 0;
    this.side = -1;
    this.inHold = false;
    this.start = 0;
    this.lastHeld = -1;
    this.path = 0;
    this.prevT = -1e9;
    this.recentT.fill(-1);
    this.recentSide = -1;
    this.prevSide = -1;
    this.streak = 0;
    this.gap = 0;
    this.count = 0;
  }

  choose(frame, mask, shoulders) {
    if (shoulders[3] === 0 || shoulders[2] <= 0) return -1;
    const heights = [RIGHT, LEFT].map((s) => (this.complete[s]
      ? measureHand(frame, mask, this.points[s], shoulders, this.shape[s], this.place[s]) : Infinity));
    const line = this.config.space_line;
    if (this.side >= 0 && heights[this.side] < line) return this.side;
    const best = heights[RIGHT] <= heights[LEFT] ? RIGHT : LEFT;
    return heights[best] < line ? best : -1;
  }

  /** The signing hand's wrist height in the last frame (Infinity without a hand). */
  get height() {
    return this.side >= 0 ? this.place[this.side][1] : Infinity;
  }

  step(frame, mask, shoulders) {
    const t = this.t++;
    const side = this.side = this.choose(frame, mask, shoulders);
    if (side < 0) return this.missing();
    this.gap = 0;
    const shape = this.shape[side];
    const place = this.place[side];
    const steps = t - this.prevT;
    let shapeSpeed = Infinity;
    let placeSpeed = Infinity;
    let travel = 0;
    if (side === this.prevSide && steps <= this.gapFrames + 1) {
      const dt = steps / this.fps;
      shapeSpeed = distance(shape, this.prevShape) / dt;
      travel = Math.hypot(place[0] - this.prevPlace[0], place[1] - this.prevPlace[1]);
      placeSpeed = travel / dt;
    }
    this.prevShape.set(shape);
    this.prevPlace.set(place);
    this.prevT = t;
    this.prevSide = side;
    const shift = this.shiftOf(t, side, shape);
    const c = this.config;
    if (this.inHold) {
      const n = this.count;
      for (let j = 0; j < shape.length; j++) this.mean[j] = this.sumShape[j] / n;
      if (shapeSpeed > c.shape_break || placeSpeed > c.place_break || shift > c.shift
          || distance(shape, this.mean) > c.drift
          || Math.hypot(place[0] - this.sumPlace[0] / n, place[1] - this.sumPlace[1] / n) > c.wander) {
        const ended = this.end(t);
        this.path = travel;
        return ended;
      }
      this.add(shape, place);
      this.lastHeld = t;
      return NOTHING;
    }
    this.path += travel;
    if (!(shapeSpeed < c.shape_still && placeSpeed < c.place_still && shift <= c.shift)) {
      this.streak = 0;
      return NOTHING;
    }
    if (this.streak === 0) {
      this.start = t;
      this.count = 0;
      this.sumShape.fill(0);
      this.sumPlace.fill(0);
    }
    this.streak += 1;
    this.add(shape, place);
    if (this.streak < this.holdFrames) return NOTHING;
    this.inHold = true;
    this.lastHeld = t;
    return { started: this.start, ended: null };
  }

  /** End of stream: the hold still open, if any, ends after its last frame. */
  finish() {
    return this.inHold ? this.end(this.lastHeld + 1) : NOTHING;
  }

  shiftOf(t, side, shape) {
    const size = this.recentT.length;
    const then = t - this.shiftFrames;
    const slot = ((then % size) + size) % size; // Python's modulo of a negative frame
    const old = this.recentT[slot] === then && this.recentSide === side;
    const shift = old ? distance(shape, this.recent[slot]) : 0;
    if (this.recentSide !== side) this.recentT.fill(-1);
    this.recentSide = side;
    this.recent[t % size].set(shape);
    this.recentT[t % size] = t;
    return shift;
  }

  add(shape, place) {
    for (let j = 0; j < shape.length; j++) this.sumShape[j] += shape[j];
    this.sumPlace[0] += place[0];
    this.sumPlace[1] += place[1];
    this.count += 1;
  }

  missing() {
    this.gap += 1;
    this.streak = 0;
    if (this.gap <= this.gapFrames) return NOTHING;
    this.prevSide = -1;
    return this.inHold ? this.end(this.lastHeld + 1) : NOTHING;
  }

  end(end) {
    this.inHold = false;
    this.streak = 0;
    this.path = 0;
    return { started: null, ended: [this.start, end] };
  }
}
