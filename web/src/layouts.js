// Keypoint layouts by (component, point) name and conversion by name, as runtime/pose/layouts.py does
// them: a point the source lacks comes out masked, never as a silent zero. The point names themselves
// come from the bundle's web manifest (written from runtime/pose/layouts.py), so that they are declared
// once, in Python.
//
// Frames are flat Float32Arrays [T * K * 3] (point-major, x y z) with a Uint8Array mask [T * K].

export const BODY = 'POSE_LANDMARKS';
export const FACE = 'FACE_LANDMARKS';
export const LEFT_HAND = 'LEFT_HAND_LANDMARKS';
export const RIGHT_HAND = 'RIGHT_HAND_LANDMARKS';

const key = (component, point) => `${component}\u0000${point}`;

/** An ordered list of named keypoints: `points` is an array of [component, point] pairs. */
export class Layout {
  constructor(name, points) {
    this.name = name;
    this.points = points.map(([c, p]) => [String(c), String(p)]);
    this.index = new Map(this.points.map(([c, p], i) => [key(c, p), i]));
  }

  get size() {
    return this.points.length;
  }

  /** Index of a point, or -1 where the layout lacks it. */
  at(component, point) {
    const i = this.index.get(key(component, point));
    return i === undefined ? -1 : i;
  }

  /** Indices of the given [component, point] names; every one must exist. */
  indices(points) {
    return Int32Array.from(points, ([c, p]) => {
      const i = this.at(c, p);
      if (i < 0) throw new Error(`layout ${this.name} has no point ${c}/${p}`);
      return i;
    });
  }

  /** [first index, count] of a component's points (each component's points are contiguous). */
  span(component) {
    const first = this.points.findIndex(([c]) => c === component);
    return [first, first < 0 ? 0 : this.points.filter(([c]) => c === component).length];
  }
}

/** For each target point, its index in the source, or -1 where the source lacks it. */
export function conversionPlan(source, target) {
  return Int32Array.from(target.points, ([c, p]) => source.at(c, p));
}
