// The bundle's pose encoder under ONNX Runtime Web (WebAssembly): a model input to a unit embedding,
// as runtime/encoders.py's PoseEncoder does for one clip. `ort` is the onnxruntime-web module, passed
// in so that the page and Node load it each their own way.

import { roundHalfEven } from './numeric.js';

/** Frame indices that keep a clip at most `maxFrames` long, spread uniformly (np.linspace + np.round). */
export function resampleIndices(numFrames, maxFrames) {
  if (numFrames <= maxFrames) return Int32Array.from({ length: numFrames }, (_, i) => i);
  const step = (numFrames - 1) / (maxFrames - 1);
  const out = Int32Array.from({ length: maxFrames }, (_, i) => roundHalfEven(i * step));
  out[maxFrames - 1] = numFrames - 1;
  return out;
}

/** x scaled to unit length (a zero vector stays zero). */
export function unit(x) {
  let norm = 0;
  for (const v of x) norm += v * v;
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  return Float32Array.from(x, (v) => v * scale);
}

export class PoseEncoder {
  /** `model`: the ONNX file's bytes (ArrayBuffer or Uint8Array) or its URL. */
  static async load(ort, model, { maxFrames, embeddingDim, features }) {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['wasm'], graphOptimizationLevel: 'all',
    });
    for (const name of ['poses', 'mask']) {
      if (!session.inputNames.includes(name)) {
        throw new Error(`pose encoder inputs are ${session.inputNames}, expected poses and mask`);
      }
    }
    return new PoseEncoder(ort, session, { maxFrames, embeddingDim, features });
  }

  constructor(ort, session, { maxFrames, embeddingDim, features }) {
    this.ort = ort;
    this.session = session;
    this.maxFrames = maxFrames;
    this.dim = embeddingDim;
    this.features = features; // points * 3
  }

  /** Unit embedding [D] of one model input ({frames: Float32Array [T * P * 3], length: T}). */
  async embed(input) {
    const f = this.features;
    const keep = resampleIndices(input.length, this.maxFrames);
    if (keep.length === 0) throw new Error('a clip has no frames: nothing to embed');
    const poses = new Float32Array(keep.length * f); // (1, T, P*3), point-major per frame
    keep.forEach((t, i) => poses.set(input.frames.subarray(t * f, (t + 1) * f), i * f));
    const feeds = {
      poses: new this.ort.Tensor('float32', poses, [1, keep.length, f]),
      mask: new this.ort.Tensor('bool', new Uint8Array(keep.length).fill(1), [1, keep.length]),
    };
    const outputs = await this.session.run(feeds);
    const embedding = outputs[this.session.outputNames[0]].data;
    if (embedding.length !== this.dim) {
      throw new Error(`pose encoder gave ${embedding.length} numbers, the bundle says ${this.dim}`);
    }
    return unit(embedding);
  }
}
