// Keypoint layouts by (component, point) name, as runtime/layouts.py declares them, and conversion
// by name: a point the source lacks comes out masked, never as a silent zero.
//
// Frames are flat Float32Arrays [T * K * 3] (point-major, x y z) with a Uint8Array mask [T * K].

export const BODY = 'POSE_LANDMARKS';
export const FACE = 'FACE_LANDMARKS';
export const LEFT_HAND = 'LEFT_HAND_LANDMARKS';
export const RIGHT_HAND = 'RIGHT_HAND_LANDMARKS';

export const BODY_POINTS = [
  'NOSE', 'LEFT_EYE_INNER', 'LEFT_EYE', 'LEFT_EYE_OUTER', 'RIGHT_EYE_INNER', 'RIGHT_EYE',
  'RIGHT_EYE_OUTER', 'LEFT_EAR', 'RIGHT_EAR', 'MOUTH_LEFT', 'MOUTH_RIGHT', 'LEFT_SHOULDER',
  'RIGHT_SHOULDER', 'LEFT_ELBOW', 'RIGHT_ELBOW', 'LEFT_WRIST', 'RIGHT_WRIST', 'LEFT_PINKY',
  'RIGHT_PINKY', 'LEFT_INDEX', 'RIGHT_INDEX', 'LEFT_THUMB', 'RIGHT_THUMB', 'LEFT_HIP', 'RIGHT_HIP',
  'LEFT_KNEE', 'RIGHT_KNEE', 'LEFT_ANKLE', 'RIGHT_ANKLE', 'LEFT_HEEL', 'RIGHT_HEEL',
  'LEFT_FOOT_INDEX', 'RIGHT_FOOT_INDEX',
]; // MediaPipe PoseLandmark order
export const HAND_POINTS = [
  'WRIST', 'THUMB_CMC', 'THUMB_MCP', 'THUMB_IP', 'THUMB_TIP', 'INDEX_FINGER_MCP',
  'INDEX_FINGER_PIP', 'INDEX_FINGER_DIP', 'INDEX_FINGER_TIP', 'MIDDLE_FINGER_MCP',
  'MIDDLE_FINGER_PIP', 'MIDDLE_FINGER_DIP', 'MIDDLE_FINGER_TIP', 'RING_FINGER_MCP',
  'RING_FINGER_PIP', 'RING_FINGER_DIP', 'RING_FINGER_TIP', 'PINKY_MCP', 'PINKY_PIP', 'PINKY_DIP',
  'PINKY_TIP',
]; // MediaPipe HandLandmark order
export const LEG_POINTS = [
  'LEFT_KNEE', 'RIGHT_KNEE', 'LEFT_ANKLE', 'RIGHT_ANKLE', 'LEFT_HEEL', 'RIGHT_HEEL',
  'LEFT_FOOT_INDEX', 'RIGHT_FOOT_INDEX',
]; // SignCLIP hides these and keeps the hips

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
}

const component = (name, points) => points.map((p) => [name, String(p)]);
const range = (n) => Array.from({ length: n }, (_, i) => i);

/** What MediaPipe's web Holistic returns: body 33, face 468, left and right hand 21 each. */
export const HOLISTIC_543 = new Layout('holistic543', [
  ...component(BODY, BODY_POINTS), ...component(FACE, range(468)),
  ...component(LEFT_HAND, HAND_POINTS), ...component(RIGHT_HAND, HAND_POINTS),
]);

/** For each target point, its index in the source, or -1 where the source lacks it. */
export function conversionPlan(source, target) {
  return Int32Array.from(target.points, ([c, p]) => source.at(c, p));
}
