// The bundle's pose encoder under ONNX Runtime Web (WebAssembly): a model input to a unit embedding,
// as runtime/model/encoders.py's PoseEncoder does for one clip. `ort` is the onnxruntime-web module, passed
// in so that the page and Node load it each their own way.

import { handsView } from './normalize.js';
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
  static async load(ort, model, options) {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['wasm'], graphOptimizationLevel: 'all',
    });
    for (const name of ['poses', 'mask']) {
      if (!session.inputNames.includes(name)) {
        throw new Error(`pose encoder inputs are ${session.inputNames}, expected poses and mask`);
      }
    }
    return new PoseEncoder(ort, session, options);
  }

  /** options: {maxFrames, embeddingDim, features (points * 3), handView (weight), model (modelLayout)}. */
  constructor(ort, session, { maxFrames, embeddingDim, features, handView = 0, model = null }) {
    this.ort = ort;
    this.session = session;
    this.maxFrames = maxFrames;
    this.dim = embeddingDim;
    this.features = features;
    this.handView = handView;
    this.model = model;
  }

  /**
   * Unit embedding [D] of one model input ({frames: Float32Array [T * P * 3], mask, length: T}); with
   * a hand view, its hands-alone view runs in the same batch and the two are mixed, as
   * runtime/model/encoders.py mix_views does.
   */
  async embed(input) {
    return (await this.embedViews(input)).embedding;
  }

  /** {embedding: as embed gives it, whole: the whole clip's own embedding (how signs are read)}. */
  async embedViews(input) {
    const hands = this.handView > 0 ? handsView(input, this.model) : null;
    const [whole, alone] = await this.run(hands ? [input, hands] : [input]);
    if (!alone) return { embedding: whole, whole };
    const w = this.handView;
    return { embedding: unit(whole.map((v, i) => (1 - w) * v + w * alone[i])), whole };
  }

  /** Unit embeddings of model inputs of one length, in one batch. */
  async run(inputs) {
    const f = this.features;
    const keep = resampleIndices(inputs[0].length, this.maxFrames);
    if (keep.length === 0) throw new Error('a clip has no frames: nothing to embed');
    const t = keep.length;
    const poses = new Float32Array(inputs.length * t * f); // (B, T, P*3), point-major per frame
    inputs.forEach((x, b) => keep.forEach((k, i) => poses.set(x.frames.subarray(k * f, (k + 1) * f), (b * t + i) * f)));
    const feeds = {
      poses: new this.ort.Tensor('float32', poses, [inputs.length, t, f]),
      mask: new this.ort.Tensor('bool', new Uint8Array(inputs.length * t).fill(1), [inputs.length, t]),
    };
    const outputs = await this.session.run(feeds);
    const embeddings = outputs[this.session.outputNames[0]].data;
    if (embeddings.length !== inputs.length * this.dim) {
      throw new Error(`pose encoder gave ${embeddings.length} numbers, the bundle says ${inputs.length} x ${this.dim}`);
    }
    return inputs.map((_, b) => unit(embeddings.subarray(b * this.dim, (b + 1) * this.dim)));
  }
}
