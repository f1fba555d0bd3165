// The camera through MediaPipe's web Holistic (@mediapipe/holistic, loaded from the page's own
// folder): each new video frame to keypoints in the 543-point Holistic layout, as the Python capture
// (runtime/capture.py) makes them: x and y in pixels, z as MediaPipe gives it, the body's points
// observed where their visibility is above 0, face and hands where detected.

import { HOLISTIC_543 } from './layouts.js';

export const CAPTURE_LAYOUT = HOLISTIC_543;
// The Python capture's settings (the legacy solution's defaults, model complexity 1).
export const HOLISTIC_OPTIONS = {
  modelComplexity: 1, smoothLandmarks: true, enableSegmentation: false, refineFaceLandmarks: false,
  minDetectionConfidence: 0.5, minTrackingConfidence: 0.5, selfieMode: false,
};
const PARTS = [ // results field, points, whether its confidence is the visibility
  ['poseLandmarks', 33, true], ['faceLandmarks', 468, false],
  ['leftHandLandmarks', 21, false], ['rightHandLandmarks', 21, false],
];

/** MediaPipe results to {frame: Float32Array [K * 3], mask: Uint8Array [K]} in CAPTURE_LAYOUT. */
export function resultsToFrame(results, width, height) {
  const frame = new Float32Array(CAPTURE_LAYOUT.size * 3);
  const mask = new Uint8Array(CAPTURE_LAYOUT.size);
  let offset = 0;
  for (const [field, count, visibility] of PARTS) {
    const landmarks = results[field];
    if (landmarks) {
      for (let i = 0; i < count && i < landmarks.length; i++) {
        const p = landmarks[i];
        frame.set([p.x * width, p.y * height, p.z], 3 * (offset + i));
        mask[offset + i] = (visibility ? p.visibility ?? 0 : 1) > 0 ? 1 : 0;
      }
    }
    offset += count;
  }
  return { frame, mask };
}

/** Whether WebGL is emulated in software here (no GPU: SwiftShader, llvmpipe). */
export function softwareWebGL() {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return true;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
}

/**
 * MediaPipe Holistic with its files under `base` (no network); resolves once its models loaded.
 * Its models run where MediaPipe runs them by default (WebGL, except on iOS), but on the CPU
 * (XNNPACK in WebAssembly) where WebGL is emulated in software: there WebGL inference took seconds
 * per frame, the CPU a few hundred milliseconds (measured here in headless Chromium without a GPU).
 */
export async function openHolistic(base) {
  const holistic = new globalThis.Holistic({ locateFile: (file) => `${base}${file}` });
  const cpu = softwareWebGL();
  holistic.setOptions({ ...HOLISTIC_OPTIONS, ...(cpu ? { useCpuInference: true } : {}) });
  await holistic.initialize();
  return { holistic, inference: cpu ? 'CPU' : 'default (WebGL)' };
}

/**
 * Runs Holistic on each new frame of a playing <video>, one at a time (a frame that arrives while
 * the previous one is processed is skipped, so the view never falls behind the camera), and calls
 * `onPose({frame, mask, results, index, timeS, mediapipeMs})` for each.
 */
export class PoseLoop {
  constructor(holistic, video, onPose) {
    this.holistic = holistic;
    this.video = video;
    this.onPose = onPose;
    this.running = false;
    this.index = 0;        // frames processed
    this.latest = null;
    holistic.onResults((results) => { this.latest = results; });
  }

  start() {
    this.running = true;
    this.video.requestVideoFrameCallback((now, meta) => this.step(meta));
  }

  stop() {
    this.running = false;
  }

  async step(meta) {
    if (!this.running) return;
    const began = performance.now();
    this.latest = null;
    await this.holistic.send({ image: this.video });
    const mediapipeMs = performance.now() - began;
    if (this.latest) {
      const { frame, mask } = resultsToFrame(this.latest, this.video.videoWidth, this.video.videoHeight);
      await this.onPose({ frame, mask, results: this.latest, index: this.index++, timeS: meta.mediaTime,
        mediapipeMs });
    }
    if (this.running) this.video.requestVideoFrameCallback((now, m) => this.step(m));
  }
}
