// The camera through MediaPipe's web Holistic (@mediapipe/holistic, loaded from the page's own
// folder): each new video frame to keypoints in the 543-point Holistic layout (the manifest's
// capture_layout), as the Python capture (runtime/capture/holistic.py) makes them: x and y in pixels, z as
// MediaPipe gives it, the body's points observed where their visibility is above 0, face and hands
// where detected.

import { BODY, FACE, LEFT_HAND, RIGHT_HAND } from './layouts.js';

// The Python capture's settings (the legacy solution's defaults, model complexity 1).
export const HOLISTIC_OPTIONS = {
  modelComplexity: 1, smoothLandmarks: true, enableSegmentation: false, refineFaceLandmarks: false,
  minDetectionConfidence: 0.5, minTrackingConfidence: 0.5, selfieMode: false,
};
const PARTS = [ // results field, component (in MediaPipe's landmark order), confidence = visibility
  ['poseLandmarks', BODY, true], ['faceLandmarks', FACE, false],
  ['leftHandLandmarks', LEFT_HAND, false], ['rightHandLandmarks', RIGHT_HAND, false],
];

/** MediaPipe results to {frame: Float32Array [K * 3], mask: Uint8Array [K]} in `layout`. */
export function resultsToFrame(results, width, height, layout) {
  const frame = new Float32Array(layout.size * 3);
  const mask = new Uint8Array(layout.size);
  for (const [field, component, visibility] of PARTS) {
    const landmarks = results[field];
    const [offset, count] = layout.span(component);
    if (!landmarks) continue;
    for (let i = 0; i < count && i < landmarks.length; i++) {
      const p = landmarks[i];
      frame.set([p.x * width, p.y * height, p.z], 3 * (offset + i));
      mask[offset + i] = (visibility ? p.visibility ?? 0 : 1) > 0 ? 1 : 0;
    }
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

const PACKAGE_GRAPH = 'holistic.binarypb'; // the graph file the npm solution asks locateFile for

/**
 * MediaPipe Holistic with its files under `base` (no network); resolves once its models loaded.
 * `graph`: the graph file it runs in place of the package's own (the manifest's capture_graph:
 * `signclip web` writes one without the face mesh for a bundle that hides the face).
 * Its models run where MediaPipe runs them by default (WebGL, except on iOS), but on the CPU
 * (XNNPACK in WebAssembly) where WebGL is emulated in software: there WebGL inference took seconds
 * per frame, the CPU a few hundred milliseconds (measured here in headless Chromium without a GPU).
 */
export async function openHolistic(base, graph = PACKAGE_GRAPH) {
  const locateFile = (file) => `${base}${file === PACKAGE_GRAPH ? graph : file}`;
  const holistic = new globalThis.Holistic({ locateFile });
  const cpu = softwareWebGL();
  holistic.setOptions({ ...HOLISTIC_OPTIONS, ...(cpu ? { useCpuInference: true } : {}) });
  await holistic.initialize();
  return { holistic, inference: cpu ? 'CPU' : 'default (WebGL)', graph };
}

/**
 * Runs Holistic on each new frame of a playing <video>, one at a time: a frame that arrives while
 * the previous one is processed is skipped, so the view never falls behind the camera. Each frame is
 * first copied to `canvas` (the view), and MediaPipe reads it there, so that the skeleton drawn
 * over it later lies on the very pixels it was found in. Calls `onPose({frame, mask, results,
 * index, timeS, mediapipeMs})` for each, keypoints in `layout`.
 */
export class PoseLoop {
  constructor(holistic, video, canvas, layout, onPose) {
    this.holistic = holistic;
    this.video = video;
    this.canvas = canvas;
    this.layout = layout;
    this.onPose = onPose;
    this.running = false;
    this.index = 0;          // frames processed
    this.latest = null;      // MediaPipe's results for the frame being processed
    this.presented = null;   // the newest video frame's metadata
    this.processed = -1;     // presentedFrames of the last frame processed
    this.wake = null;
    holistic.onResults((results) => { this.latest = results; });
    const watch = (now, meta) => {
      this.presented = meta;
      this.wake?.();
      video.requestVideoFrameCallback(watch);
    };
    video.requestVideoFrameCallback(watch);
  }

  /** The newest video frame if it was not processed yet, else the next one to arrive. */
  nextFrame() {
    if (this.presented && this.presented.presentedFrames !== this.processed) {
      return Promise.resolve(this.presented);
    }
    return new Promise((resolve) => { this.wake = () => { this.wake = null; resolve(this.presented); }; });
  }

  async run() {
    this.running = true;
    const { video, canvas } = this;
    const view = canvas.getContext('2d');
    while (this.running) {
      const meta = await this.nextFrame();
      this.processed = meta.presentedFrames;
      if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
        canvas.width = video.videoWidth; // the camera may turn (a phone) or change its size
        canvas.height = video.videoHeight;
      }
      view.drawImage(video, 0, 0);
      const began = performance.now();
      this.latest = null;
      await this.holistic.send({ image: canvas });
      const mediapipeMs = performance.now() - began;
      if (this.latest) {
        const { frame, mask } = resultsToFrame(this.latest, canvas.width, canvas.height, this.layout);
        await this.onPose({ frame, mask, results: this.latest, index: this.index++, timeS: meta.mediaTime,
          mediapipeMs });
      }
    }
  }

  stop() {
    this.running = false;
  }
}
