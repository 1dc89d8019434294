/**
 * The reference of the visible cases: the library's ops, which every edition may run (TensorFlow.js at
 * float32, the library's output-size and count arithmetic), never an exercise's solution. It answers the
 * same programs as a student's `lib/`: each module path maps to functions with the teaching layers'
 * signatures and cache formats.
 *
 * @module
 */
import type { Conv2dCache } from "../lib/layers/conv2d.ts";
import type { BatchNormState } from "../lib/layers/batchnorm.ts";
import { convUnit } from "../lib/models/summary.ts";
import type { WindowOptions } from "../lib/shape.ts";
import type { Tensor } from "../lib/tensor.ts";
import {
  conv2dBackwardTf,
  conv2dForwardTf,
  maxPool2dBackwardTf,
  maxPool2dForwardTf,
  type MaxPool2dTfCache,
  spatialBatchnormBackwardTf,
  spatialBatchnormForwardTf,
  threeLayerConvNetLossTf,
} from "../lib/tf/layers.ts";
import { convInfo, outputSize } from "../lib/tf/output_size.ts";
import type { Importer } from "./program.ts";

function convForward(x: Tensor, w: Tensor, b: Tensor, opts: WindowOptions) {
  const { out } = conv2dForwardTf(x, w, b, opts);
  const cache: Conv2dCache = {
    layer: "conv2d",
    x,
    w,
    b,
    info: convInfo(x.shape, w.shape, opts, b.shape),
  };
  return { out, cache };
}

function convBackward(dout: Tensor, cache: Conv2dCache) {
  const { x, w, b, info } = cache;
  const opts = { stride: info.stride, pad: info.pad };
  return conv2dBackwardTf(dout, conv2dForwardTf(x, w, b, opts).cache);
}

const MODULES: Record<string, Record<string, unknown>> = {
  "shape.ts": { convOutputSize: outputSize, conv2dInfo: convInfo },
  "layers/conv2d.ts": { conv2dForward: convForward, conv2dBackward: convBackward },
  "layers/conv2d_im2col.ts": {
    conv2dForwardIm2col: convForward,
    conv2dBackwardIm2col: convBackward,
  },
  "layers/pool2d.ts": {
    maxPool2dForward: (x: Tensor, opts: { size: number; stride: number }) => {
      const r = maxPool2dForwardTf(x, opts);
      return { out: r.out, cache: { layer: "maxPool2d", lib: r.cache } };
    },
    maxPool2dBackward: (dout: Tensor, cache: { lib: MaxPool2dTfCache }) =>
      maxPool2dBackwardTf(dout, cache.lib),
  },
  "layers/batchnorm.ts": {
    batchNormState: (c: number): BatchNormState => ({
      runningMean: new Float64Array(c),
      runningVar: new Float64Array(c).fill(1),
    }),
    spatialBatchnormForward: spatialBatchnormForwardTf,
    spatialBatchnormBackward: spatialBatchnormBackwardTf,
  },
  "models/three_layer_convnet.ts": { threeLayerConvNetLoss: threeLayerConvNetLossTf },
  "models/counts.ts": { convLayerCounts: convUnit },
};

/**
 * Modules of the library reference, by the path a case's program names (`"layers/conv2d.ts"`).
 *
 * @throws {Error} for a path the reference does not answer (a case written for a module it lacks)
 * @example
 * ```ts
 * import { libraryImporter } from "grading/reference.ts";
 * import assert from "node:assert/strict";
 * const shape = await libraryImporter("shape.ts");
 * assert.equal((shape.convOutputSize as (...a: number[]) => number)(7, 3, 2, 0), 3);
 * ```
 */
export const libraryImporter: Importer = (path) => {
  const m = MODULES[path];
  if (!m) return Promise.reject(new Error(`the library reference has no module ${path}`));
  return Promise.resolve(m);
};
