/**
 * The teaching layers built from TensorFlow.js ops and tfjs's own gradients: the "library op" that
 * students' loops are checked against. Same arguments and kit tensors in and out, so code can swap
 * one for the other: `fooTf` is the tfjs (float32) counterpart of the teaching `foo`; they agree
 * to ~1e-5 relative (tests/tf/layers_test.ts). Results are read with `dataSync()`, so the cpu and
 * wasm backends only: webgpu allows no synchronous read in Deno and is refused. On wasm,
 * `registerFastGrads()` is installed on first use (stock tfjs-wasm has no conv filter gradient).
 * No tfjs tensor outlives a call.
 *
 * @module
 */
import type { BatchNormOptions } from "../layers/batchnorm.ts";
import { checkShapeIs, checkTensor } from "../layers/checks.ts";
import type { Conv2dGrads } from "../layers/conv2d.ts";
import type {
  ThreeLayerConvNetGrads as Grads,
  ThreeLayerConvNetParams as Params,
} from "../models/three_layer_convnet.ts";
import { ShapeError } from "../errors.ts";
import { samePad } from "../same_pad.ts";
import type { PoolOptions, WindowOptions } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { tf } from "./backend.ts";
import { toTf } from "./convert.ts";
import { registerFastGrads } from "./fast_grads.ts";

type T4 = tf.Tensor4D;
type T2 = tf.Tensor2D;

/** What `conv2dForwardTf` keeps: its inputs, from which tfjs's gradients recompute. */
export type Conv2dTfCache = Readonly<
  { layer: "conv2dTf"; x: Tensor; w: Tensor; b: Tensor; opts: WindowOptions }
>;
/** What `maxPool2dForwardTf` keeps. */
export type MaxPool2dTfCache = Readonly<{ layer: "maxPool2dTf"; x: Tensor; opts: PoolOptions }>;
/** What `spatialBatchnormForwardTf` keeps; in test mode also a copy of the running averages. */
export type BatchNormTfCache = Readonly<{
  layer: "spatialBatchnormTf";
  mode: "train" | "test";
  x: Tensor;
  gamma: Tensor;
  beta: Tensor;
  eps: number;
  mean?: Float64Array;
  variance?: Float64Array;
}>;

/** Runs `f` in a tfjs scope (disposing its tensors) on a backend that reads synchronously. */
function run<R>(where: string, f: () => R): R {
  const backend = tf.getBackend();
  if (backend === "webgpu") {
    throw new Error(`${where}: reads with dataSync(), which webgpu forbids; use cpu or wasm`);
  }
  if (backend === "wasm") registerFastGrads();
  let result!: R;
  tf.tidy(() => void (result = f()));
  return result;
}

/** A tfjs tensor as a kit tensor (float64 copy), read synchronously. */
function toKit(t: tf.Tensor): Tensor {
  return { data: Float64Array.from(t.dataSync()), shape: [...t.shape] };
}

function explicitPad(p: number): tf.backend_util.ExplicitPadding {
  return [[0, 0], [p, p], [p, p], [0, 0]];
}

/** Refuses a cache that another forward pass made: `where` is "fooBackwardTf", for fooForwardTf. */
function checkTfCache<C extends { readonly layer: string }>(where: string, cache: C): C {
  const got = (cache as { layer?: unknown } | null)?.layer, forward = where.replace("Back", "For");
  if (got !== forward.replace("ForwardTf", "Tf")) {
    const what = typeof got === "string" ? `a "${got}" cache` : String(cache);
    throw new TypeError(`${where}: pass the cache returned by ${forward}, got ${what}`);
  }
  return cache;
}

/** [H', W'] of an FH x FW window at stride S, pad P, by tfjs: it fits if floor and ceil agree. */
function windowOut(
  where: string,
  [n, h, w, c]: readonly number[],
  [fh, fw]: readonly number[],
  stride: number,
  pad: number,
  rounding: "exact" | "floor" = "exact",
): [number, number] {
  for (const [name, v, min] of [["stride", stride, 1], ["pad", pad, 0]] as const) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${where}: ${name} must be a whole number >= ${min}, got ${v}`);
    }
  }
  const [x4, f4, padding] = [[n, h, w, c], [fh, fw, c, 1], explicitPad(pad)] as const;
  const lo = tf.backend_util.computeConv2DInfo([...x4], [...f4], stride, 1, padding, "floor");
  const hi = tf.backend_util.computeConv2DInfo([...x4], [...f4], stride, 1, padding, "ceil");
  const [ph, pw] = [h + 2 * pad, w + 2 * pad];
  if (lo.outHeight < 1 || lo.outWidth < 1) {
    throw new ShapeError(
      `${where}: a ${fh}x${fw} window does not fit a ${h}x${w} input with pad ${pad} (${ph}x${pw})`,
      { expected: [fh, fw], actual: [ph, pw] },
    );
  }
  if (rounding !== "floor" && (lo.outHeight !== hi.outHeight || lo.outWidth !== hi.outWidth)) {
    throw new ShapeError(
      `${where}: stride ${stride} does not fit a ${h}x${w} input with a ${fh}x${fw} window ` +
        `and pad ${pad}: the output is ${lo.outHeight}x${lo.outWidth} rounded down but ` +
        `${hi.outHeight}x${hi.outWidth} rounded up`,
      { expected: [lo.outHeight, lo.outWidth], actual: [hi.outHeight, hi.outWidth] },
    );
  }
  return [lo.outHeight, lo.outWidth];
}

/** Checks a conv's arguments; returns its output shape `[N, H', W', K]`. */
function convCheck(where: string, x: Tensor, w: Tensor, b: Tensor, opts: WindowOptions): number[] {
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  checkTensor(where, "w", w, 4, "[F, F, C_in, K]");
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${where}: options { stride, pad } are required`);
  }
  const [fh, fw, cIn, k] = w.shape, c = x.shape[3];
  if (cIn !== c) {
    throw new ShapeError(
      `${where}: filters w [${w.shape.join(", ")}] expect ${cIn} input channels, but x [${
        x.shape.join(", ")
      }] has ${c}`,
      { expected: [cIn], actual: [c] },
    );
  }
  checkShapeIs(where, "b", b, [k]);
  const [oh, ow] = windowOut(where, x.shape, [fh, fw], opts.stride, opts.pad, opts.rounding);
  return [x.shape[0], oh, ow, k];
}

const convTf = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, stride: number, pad: number) =>
  tf.add(tf.conv2d(x as T4, w as T4, stride, explicitPad(pad)), b);

/**
 * Conv forward by `tf.conv2d`: the tfjs (float32) counterpart of `conv2dForward`, to ~1e-5
 * relative.
 *
 * @param x input `[N, H, W, C]`
 * @param w filters `[FH, FW, C, K]`
 * @param b biases `[K]`
 * @param opts `{ stride: S, pad: P, rounding? }`
 * @returns out `[N, (H - FH + 2P) / S + 1, (W - FW + 2P) / S + 1, K]` (rounded down with
 *   `rounding: "floor"`) and the cache for `conv2dBackwardTf`
 * @throws {ShapeError} on wrong ranks, channels or bias, a filter larger than the padded input,
 *   or a stride that does not fit (unless `rounding: "floor"`)
 * @throws {RangeError} when S or P is not a whole number in range
 * @example
 * ```ts
 * import { conv2dForwardTf } from "convkit/tf/layers.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // a 2x2 input, a 1x1 filter of 2 and bias 1
 * const x = tensor([1, 2, 3, 4], [1, 2, 2, 1]), w = tensor([2], [1, 1, 1, 1]);
 * const { out } = conv2dForwardTf(x, w, tensor([1], [1]), { stride: 1, pad: 0 });
 * assert.deepEqual([...out.data], [3, 5, 7, 9]);
 * ```
 */
export function conv2dForwardTf(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: WindowOptions,
): { out: Tensor; cache: Conv2dTfCache } {
  convCheck("conv2dForwardTf", x, w, b, opts);
  const out = run(
    "conv2dForwardTf",
    () => toKit(convTf(toTf(x), toTf(w), toTf(b), opts.stride, opts.pad)),
  );
  return { out, cache: { layer: "conv2dTf", x, w, b, opts: { ...opts } } };
}

/**
 * Conv backward by `tf.grads` of `tf.conv2d`: the tfjs (float32) counterpart of
 * `conv2dBackward`, to ~1e-5 relative.
 *
 * @param dout upstream gradient `[N, H', W', K]`
 * @param cache from `conv2dForwardTf`
 * @returns dx `[N, H, W, C]`, dw `[FH, FW, C, K]`, db `[K]`
 * @throws {TypeError} for a cache from another forward pass
 * @throws {ShapeError} when dout is not `[N, H', W', K]`
 * @example
 * ```ts
 * import { conv2dBackwardTf, conv2dForwardTf } from "convkit/tf/layers.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2, 3, 4], [1, 2, 2, 1]), w = tensor([2], [1, 1, 1, 1]);
 * const { cache } = conv2dForwardTf(x, w, tensor([0], [1]), { stride: 1, pad: 0 });
 * const { dx, dw, db } = conv2dBackwardTf(tensor([1, 1, 1, 1], [1, 2, 2, 1]), cache);
 * assert.deepEqual([...dx.data], [2, 2, 2, 2]); // d(2x)/dx
 * assert.deepEqual([...dw.data], [10]); // 1 + 2 + 3 + 4
 * assert.deepEqual([...db.data], [4]);
 * ```
 */
export function conv2dBackwardTf(dout: Tensor, cache: Conv2dTfCache): Conv2dGrads {
  const where = "conv2dBackwardTf";
  const { x, w, b, opts: { stride, pad, rounding } } = checkTfCache(where, cache);
  checkShapeIs(where, "dout", dout, convCheck(where, x, w, b, { stride, pad, rounding }));
  return run(where, () => {
    const f = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) => convTf(xt, wt, bt, stride, pad);
    const [dx, dw, db] = tf.grads(f)([toTf(x), toTf(w), toTf(b)], toTf(dout)).map(toKit);
    return { dx, dw, db };
  });
}

/** Checks a max pool's arguments; returns its output shape `[N, H', W', C]`. */
function poolCheck(where: string, x: Tensor, opts: PoolOptions): number[] {
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  if (!Number.isInteger(opts?.size) || opts.size < 1) {
    throw new RangeError(
      `${where}: options { size, stride } need a whole size >= 1, got ${opts?.size}`,
    );
  }
  const [oh, ow] = windowOut(where, x.shape, [opts.size, opts.size], opts.stride, 0);
  return [x.shape[0], oh, ow, x.shape[3]];
}

/**
 * `tf.maxPool` that keeps NaN, as PyTorch does: tfjs's kernels (XNNPACK on wasm too) skip it, so a window
 * holding a NaN is set to NaN afterwards. The gradient is tfjs's (it flows to the window's largest number).
 */
function maxPoolKeepingNaN(x: tf.Tensor, size: number, stride: number): tf.Tensor4D {
  const pooled = tf.maxPool(x as T4, size, stride, "valid");
  // the mask from a copy of x's values, outside the gradient's graph (comparisons have no gradient)
  const copy = tf.tensor(x.dataSync(), x.shape, "float32");
  const hasNaN = tf.maxPool(tf.cast(tf.isNaN(copy), "float32") as T4, size, stride, "valid");
  return tf.where(tf.greater(hasNaN, 0), tf.fill(pooled.shape, NaN), pooled) as tf.Tensor4D;
}

/**
 * Max pooling forward by `tf.maxPool` ('valid' padding): the tfjs (float32) counterpart of
 * `maxPool2dForward`, to ~1e-5 relative.
 *
 * @param x input `[N, H, W, C]`
 * @param opts `{ size: F, stride: S }`
 * @returns out `[N, (H - F) / S + 1, (W - F) / S + 1, C]` and the cache for `maxPool2dBackwardTf`
 * @throws {ShapeError} when the window is larger than x or the stride does not fit
 * @example
 * ```ts
 * import { maxPool2dForwardTf } from "convkit/tf/layers.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4], [1, 4, 4, 1]);
 * assert.deepEqual([...maxPool2dForwardTf(x, { size: 2, stride: 2 }).out.data], [6, 8, 3, 4]);
 * ```
 */
export function maxPool2dForwardTf(
  x: Tensor,
  opts: PoolOptions,
): { out: Tensor; cache: MaxPool2dTfCache } {
  poolCheck("maxPool2dForwardTf", x, opts);
  const out = run(
    "maxPool2dForwardTf",
    () => toKit(maxPoolKeepingNaN(toTf(x), opts.size, opts.stride)),
  );
  return { out, cache: { layer: "maxPool2dTf", x, opts: { ...opts } } };
}

/**
 * Max pooling backward by `tf.grads` of `tf.maxPool` (each gradient goes to its window's maximum):
 * the tfjs (float32) counterpart of `maxPool2dBackward`, to ~1e-5 relative.
 *
 * @param dout upstream gradient `[N, H', W', C]`
 * @param cache from `maxPool2dForwardTf`
 * @returns dx `[N, H, W, C]`
 * @throws {TypeError} for a cache from another forward pass
 * @throws {ShapeError} when dout is not `[N, H', W', C]`
 * @example
 * ```ts
 * import { maxPool2dBackwardTf, maxPool2dForwardTf } from "convkit/tf/layers.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const { cache } = maxPool2dForwardTf(tensor([1, 3, 2, 0], [1, 2, 2, 1]), { size: 2, stride: 2 });
 * const { dx } = maxPool2dBackwardTf(tensor([5], [1, 1, 1, 1]), cache);
 * assert.deepEqual([...dx.data], [0, 5, 0, 0]);
 * ```
 */
export function maxPool2dBackwardTf(dout: Tensor, cache: MaxPool2dTfCache): { dx: Tensor } {
  const where = "maxPool2dBackwardTf";
  const { x, opts: { size, stride } } = checkTfCache(where, cache);
  checkShapeIs(where, "dout", dout, poolCheck(where, x, { size, stride }));
  return run(where, () => {
    const f = (xt: tf.Tensor) => maxPoolKeepingNaN(xt, size, stride);
    return { dx: toKit(tf.grads(f)([toTf(x)], toTf(dout))[0]) };
  });
}

type Stats = { mean: tf.Tensor; variance: tf.Tensor };

/** Fixed (test-mode) statistics as tfjs tensors. */
function fixedStats(mean: Float64Array, variance: Float64Array): Stats {
  const t = (v: Float64Array) => tf.tensor1d(Float32Array.from(v));
  return { mean: t(mean), variance: t(variance) };
}

/** `gamma * (x - mean) / sqrt(var + eps) + beta`, by the batch's statistics unless given others. */
function batchnormTf(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, s?: Stats) {
  const { mean, variance } = s ?? tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/**
 * Spatial batch norm forward by `tf.moments`: the tfjs (float32) counterpart of
 * `spatialBatchnormForward`, to ~1e-5 relative. Train mode normalizes each channel by the mean and
 * biased variance of its N*H*W values and updates `opts.state` in place,
 * `running = (1 - momentum) * running + momentum * batch`, with the unbiased variance (as PyTorch);
 * test mode uses the running averages.
 *
 * @param x input `[N, H, W, C]`
 * @param gamma scale `[C]`
 * @param beta shift `[C]`
 * @param opts mode, running state, eps (default 1e-5), momentum (default 0.1)
 * @returns out `[N, H, W, C]` and the cache for `spatialBatchnormBackwardTf`
 * @throws {ShapeError} when gamma or beta is not `[C]`
 * @throws {TypeError} for a mode other than "train"/"test", or a state not of C channels
 * @throws {RangeError} in train mode with fewer than 2 values per channel
 * @example
 * ```ts
 * import { spatialBatchnormForwardTf } from "convkit/tf/layers.ts";
 * import { batchNormState } from "convkit/layers/batchnorm.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // one channel holding 1, 3: mean 2, variance 1, so xhat = -1, 1 (eps 0)
 * const state = batchNormState(1), gamma = tensor([2], [1]), beta = tensor([5], [1]);
 * const x = tensor([1, 3], [1, 1, 2, 1]);
 * const { out } = spatialBatchnormForwardTf(x, gamma, beta, { mode: "train", state, eps: 0 });
 * assert.deepEqual([...out.data], [3, 7]);
 * assert.ok(Math.abs(state.runningMean[0] - 0.2) < 1e-7); // 0.9 * 0 + 0.1 * 2
 * assert.ok(Math.abs(state.runningVar[0] - 1.1) < 1e-6); // 0.9 * 1 + 0.1 * 2 (unbiased variance 2)
 * ```
 */
export function spatialBatchnormForwardTf(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  opts: BatchNormOptions,
): { out: Tensor; cache: BatchNormTfCache } {
  const where = "spatialBatchnormForwardTf";
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  const c = x.shape[3], m = x.data.length / c, mode = opts?.mode, state = opts?.state;
  checkShapeIs(where, "gamma", gamma, [c]);
  checkShapeIs(where, "beta", beta, [c]);
  if (mode !== "train" && mode !== "test") {
    throw new TypeError(`${where}: mode must be "train" or "test", got ${JSON.stringify(mode)}`);
  }
  if (state?.runningMean?.length !== c || state?.runningVar?.length !== c) {
    throw new TypeError(
      `${where}: state must hold running averages for ${c} channels (batchNormState(${c}))`,
    );
  }
  if (mode === "train" && m < 2) {
    throw new RangeError(`${where}: train mode needs at least 2 values per channel, got ${m}`);
  }
  const eps = opts.eps ?? 1e-5, momentum = opts.momentum ?? 0.1;
  if (mode === "test") {
    const [mean, variance] = [state.runningMean.slice(), state.runningVar.slice()];
    const stats = () => fixedStats(mean, variance);
    const out = run(
      where,
      () => toKit(batchnormTf(toTf(x), toTf(gamma), toTf(beta), eps, stats())),
    );
    return {
      out,
      cache: { layer: "spatialBatchnormTf", mode, x, gamma, beta, eps, mean, variance },
    };
  }
  const out = run(where, () => {
    const xt = toTf(x), stats = tf.moments(xt, [0, 1, 2]);
    const [mu, v] = [stats.mean.dataSync(), stats.variance.dataSync()];
    for (let ch = 0; ch < c; ch++) {
      state.runningMean[ch] = (1 - momentum) * state.runningMean[ch] + momentum * mu[ch];
      state.runningVar[ch] = (1 - momentum) * state.runningVar[ch] + momentum * v[ch] * m / (m - 1);
    }
    return toKit(batchnormTf(xt, toTf(gamma), toTf(beta), eps, stats));
  });
  return { out, cache: { layer: "spatialBatchnormTf", mode, x, gamma, beta, eps } };
}

/**
 * Spatial batch norm backward by `tf.grads` of the forward pass as a function of (x, gamma, beta):
 * the tfjs (float32) counterpart of `spatialBatchnormBackward`, to ~1e-5 relative. In train mode
 * the gradient flows through the batch's mean and variance too; in test mode they are constants.
 *
 * @param dout upstream gradient `[N, H, W, C]`
 * @param cache from `spatialBatchnormForwardTf`
 * @returns dx `[N, H, W, C]`, dgamma `[C]`, dbeta `[C]`
 * @throws {TypeError} for a cache from another forward pass
 * @throws {ShapeError} when dout is not of x's shape
 * @example
 * ```ts
 * import { spatialBatchnormBackwardTf, spatialBatchnormForwardTf } from "convkit/tf/layers.ts";
 * import { batchNormState } from "convkit/layers/batchnorm.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const state = batchNormState(1), gamma = tensor([2], [1]), beta = tensor([5], [1]);
 * const x = tensor([1, 3], [1, 1, 2, 1]); // xhat = -1, 1 (eps 0)
 * const { cache } = spatialBatchnormForwardTf(x, gamma, beta, { mode: "train", state, eps: 0 });
 * const { dx, dgamma, dbeta } = spatialBatchnormBackwardTf(tensor([1, 1], [1, 1, 2, 1]), cache);
 * assert.deepEqual([...dgamma.data], [0]); // -1 + 1
 * assert.deepEqual([...dbeta.data], [2]);
 * assert.deepEqual([...dx.data], [0, 0]); // shifting both inputs alike changes no output
 * ```
 */
export function spatialBatchnormBackwardTf(
  dout: Tensor,
  cache: BatchNormTfCache,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const where = "spatialBatchnormBackwardTf";
  const { mode, x, gamma, beta, eps, mean, variance } = checkTfCache(where, cache);
  checkShapeIs(where, "dout", dout, x.shape);
  return run(where, () => {
    // test mode: the running averages are constants; train mode: the batch's, which depend on x
    const s = mode === "test" && mean && variance ? fixedStats(mean, variance) : undefined;
    const grads = tf.grads((xt, g, b) => batchnormTf(xt, g, b, eps, s));
    const [dx, dgamma, dbeta] = grads([toTf(x), toTf(gamma), toTf(beta)], toTf(dout)).map(toKit);
    return { dx, dgamma, dbeta };
  });
}

/**
 * CS231n's three-layer ConvNet by tfjs ops, loss and gradients by `tf.valueAndGrads`: the tfjs
 * (float32) counterpart of `threeLayerConvNetLoss`, to ~1e-5 relative. conv (F x F, stride 1,
 * pad (F - 1) / 2) - relu - 2x2 max pool stride 2 - affine - relu - affine, with the pooled
 * `[N, H/2, W/2, K]` flattened row-major to `[N, H/2 * W/2 * K]` for W2, as in the teaching net.
 * Loss: softmax cross-entropy averaged over N plus `0.5 * reg * (|W1|² + |W2|² + |W3|²)`.
 *
 * @param params W1 `[F, F, C, K]`, b1 `[K]`, W2 `[H/2 * W/2 * K, hidden]`, b2 `[hidden]`,
 *   W3 `[hidden, classes]`, b3 `[classes]`
 * @param x images `[N, H, W, C]`, H and W even
 * @param y N labels in 0 .. classes - 1; without them only the scores are computed
 * @param reg L2 regularization strength (default 0)
 * @returns scores `[N, classes]`; with y also the loss and grads (each of its parameter's shape)
 * @throws {ShapeError} when the shapes do not fit x or each other
 * @throws {RangeError} for an even F, or labels of the wrong count or range
 * @example
 * ```ts
 * import { threeLayerConvNetLossTf } from "convkit/tf/layers.ts";
 * import { full, zeros } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // all weights zero: every score is 0, so the loss is log(3) and b3's gradient is p - onehot
 * const params = {
 *   W1: zeros([3, 3, 1, 2]), b1: zeros([2]), W2: zeros([2 * 2 * 2, 4]), b2: zeros([4]),
 *   W3: zeros([4, 3]), b3: zeros([3]),
 * };
 * const { scores, loss, grads } = threeLayerConvNetLossTf(params, full([1, 4, 4, 1], 1), [0]);
 * assert.deepEqual([...scores.data], [0, 0, 0]);
 * assert.ok(Math.abs(loss! - Math.log(3)) < 1e-6);
 * assert.ok(Math.abs(grads!.b3.data[0] - (1 / 3 - 1)) < 1e-6);
 * ```
 */
export function threeLayerConvNetLossTf(
  params: Params,
  x: Tensor,
  y?: ArrayLike<number>,
  reg = 0,
): { scores: Tensor; loss?: number; grads?: Grads } {
  const where = "threeLayerConvNetLossTf";
  const { W1, b1, W2, b2, W3, b3 } = params;
  checkTensor(where, "W1", W1, 4, "[F, F, C, K]");
  const pad = samePad(W1.shape[0]), convShape = convCheck(where, x, W1, b1, { stride: 1, pad });
  const [n, , , k] = convShape;
  const [ph, pw] = windowOut(`${where} (2x2 pool)`, convShape, [2, 2], 2, 0);
  const hidden = W2?.shape?.[1], classes = W3?.shape?.[1];
  checkShapeIs(where, "W2", W2, [ph * pw * k, hidden]);
  checkShapeIs(where, "b2", b2, [hidden]);
  checkShapeIs(where, "W3", W3, [hidden, classes]);
  checkShapeIs(where, "b3", b3, [classes]);
  const labels = y === undefined ? undefined : Array.from(y ?? []);
  const isLabel = (v: number) => Number.isInteger(v) && v >= 0 && v < classes;
  if (labels && (labels.length !== n || !labels.every(isLabel))) {
    throw new RangeError(`${where}: need ${n} labels in 0 .. ${classes - 1}, got [${labels}]`);
  }
  return run(where, () => {
    const net = ([w1, c1, w2, c2, w3, c3]: tf.Tensor[]) => {
      const pooled = maxPoolKeepingNaN(tf.relu(convTf(toTf(x), w1, c1, 1, pad)), 2, 2);
      const flat = tf.reshape(pooled, [n, ph * pw * k]) as T2; // NHWC row-major, as W2's rows
      const h = tf.relu(tf.add(tf.matMul(flat, w2 as T2), c2));
      return tf.add(tf.matMul(h as T2, w3 as T2), c3);
    };
    const ps = [W1, b1, W2, b2, W3, b3].map(toTf);
    if (!labels) return { scores: toKit(net(ps)) };
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), classes);
    let scores!: Tensor;
    const lossOf = (...p: tf.Tensor[]) => {
      const s = net(p);
      scores = toKit(s); // read now: tf.valueAndGrads disposes all but the loss and the gradients
      const data = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(s)), 1)));
      const squares = tf.addN([p[0], p[2], p[4]].map((w) => tf.sum(tf.square(w))));
      return tf.add(data, tf.mul(0.5 * reg, squares)) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)(ps);
    const [gW1, gb1, gW2, gb2, gW3, gb3] = grads.map(toKit);
    const g = { W1: gW1, b1: gb1, W2: gW2, b2: gb2, W3: gW3, b3: gb3 };
    return { scores, loss: value.dataSync()[0], grads: g };
  });
}
