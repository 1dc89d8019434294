/**
 * Batch normalization, spatial (per channel) for NHWC volumes, as PyTorch's `BatchNorm2d` computes it.
 *
 * Train mode: each channel is normalized with the mean and (biased) variance of its N*H*W values,
 * `xhat = (x - mean) / sqrt(var + eps)`, then scaled and shifted, `out = gamma * xhat + beta`. The running
 * averages move towards the batch's: `running = (1 - momentum) * running + momentum * batch`, with the
 * unbiased variance (N*H*W / (N*H*W - 1) times the biased one), as PyTorch does.
 * Test mode: the running averages replace the batch's statistics.
 *
 * In NHWC the channel is the last axis, so spatial batch norm is plain batch norm over `[N*H*W, C]`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { checkCache, checkShapeIs, checkTensor } from "./checks.ts";

/** The running averages a batch-norm layer keeps between calls (updated in place in train mode). */
export interface BatchNormState {
  runningMean: Float64Array;
  runningVar: Float64Array;
}

/** Fresh running averages for C channels: means 0, variances 1 (as PyTorch starts). */
export function batchNormState(c: number): BatchNormState {
  return { runningMean: new Float64Array(c), runningVar: new Float64Array(c).fill(1) };
}

/** Options of the batch-norm forward pass. */
export interface BatchNormOptions {
  /** "train" normalizes with the batch's statistics and updates `state`; "test" uses `state`. */
  mode: "train" | "test";
  /** The running averages, updated in place in train mode. */
  state: BatchNormState;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of the batch in the running averages (default 0.1, PyTorch's). */
  momentum?: number;
}

/** What the forward pass keeps. */
export interface BatchNormCache {
  readonly layer: "spatialBatchnorm";
  readonly mode: "train" | "test";
  readonly xhat: Float64Array;
  readonly invStd: Float64Array;
  readonly gamma: Tensor;
  readonly xShape: readonly number[];
}

/**
 * Spatial batch norm forward.
 *
 * @param x input `[N, H, W, C]`
 * @param gamma scale `[C]`
 * @param beta shift `[C]`
 * @param opts mode, running state, eps, momentum
 * @returns out `[N, H, W, C]` and the cache for `spatialBatchnormBackward`
 *
 * @example
 * ```ts
 * import { batchNormState, spatialBatchnormForward } from "convkit/layers/batchnorm.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // one channel holding 1, 3: mean 2, variance 1, so xhat = -1, 1 (eps 0)
 * const state = batchNormState(1);
 * const x = tensor([1, 3], [1, 1, 2, 1]);
 * const { out } = spatialBatchnormForward(x, tensor([2], [1]), tensor([5], [1]), { mode: "train", state, eps: 0 });
 * assert.deepEqual([...out.data], [3, 7]);
 * assert.deepEqual([...state.runningMean], [0.2]); // 0.9 * 0 + 0.1 * 2
 * assert.ok(Math.abs(state.runningVar[0] - (0.9 + 0.1 * 2)) < 1e-15); // unbiased variance 2
 * ```
 */
export function spatialBatchnormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  opts: BatchNormOptions,
): { out: Tensor; cache: BatchNormCache } {
  const where = "spatialBatchnormForward";
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  const c = x.shape[3];
  checkShapeIs(where, "gamma", gamma, [c]);
  checkShapeIs(where, "beta", beta, [c]);
  if (opts?.mode !== "train" && opts?.mode !== "test") {
    throw new TypeError(
      `${where}: mode must be "train" or "test", got ${JSON.stringify(opts?.mode)}`,
    );
  }
  const { state } = opts;
  if (!state || state.runningMean?.length !== c || state.runningVar?.length !== c) {
    throw new TypeError(
      `${where}: state must hold running averages for ${c} channels (see batchNormState(${c}))`,
    );
  }
  // BEGIN SOLUTION ex5.1 Normalize each channel over its N*H*W values (train: batch mean and biased variance, update the running averages with momentum and the unbiased variance; test: running averages), then scale by gamma and shift by beta. Return { out, cache: { layer: "spatialBatchnorm", mode, xhat, invStd, gamma, xShape } }.
  const eps = opts.eps ?? 1e-5, momentum = opts.momentum ?? 0.1;
  const m = x.data.length / c;
  const mean = new Float64Array(c), variance = new Float64Array(c);
  if (opts.mode === "train") {
    if (m < 2) {
      throw new RangeError(`${where}: train mode needs at least 2 values per channel, got ${m}`);
    }
    for (let i = 0; i < m; i++) for (let ch = 0; ch < c; ch++) mean[ch] += x.data[i * c + ch];
    for (let ch = 0; ch < c; ch++) mean[ch] /= m;
    for (let i = 0; i < m; i++) {
      for (let ch = 0; ch < c; ch++) variance[ch] += (x.data[i * c + ch] - mean[ch]) ** 2;
    }
    for (let ch = 0; ch < c; ch++) {
      variance[ch] /= m;
      state.runningMean[ch] = (1 - momentum) * state.runningMean[ch] + momentum * mean[ch];
      state.runningVar[ch] = (1 - momentum) * state.runningVar[ch] +
        momentum * variance[ch] * m / (m - 1);
    }
  } else {
    mean.set(state.runningMean);
    variance.set(state.runningVar);
  }
  const invStd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = new Float64Array(x.data.length), out = new Float64Array(x.data.length);
  for (let i = 0; i < m; i++) {
    for (let ch = 0; ch < c; ch++) {
      const k = i * c + ch;
      xhat[k] = (x.data[k] - mean[ch]) * invStd[ch];
      out[k] = gamma.data[ch] * xhat[k] + beta.data[ch];
    }
  }
  return {
    out: { data: out, shape: [...x.shape] },
    cache: {
      layer: "spatialBatchnorm",
      mode: opts.mode,
      xhat,
      invStd,
      gamma,
      xShape: [...x.shape],
    },
  };
  // END SOLUTION
}

/**
 * Spatial batch norm backward. In train mode the batch's mean and variance depend on x too, so the
 * gradient flows through them as well (Ioffe & Szegedy 2015, "Batch Normalization", section 3); in test
 * mode the running averages are constants.
 *
 * @param dout upstream gradient `[N, H, W, C]`
 * @param cache from `spatialBatchnormForward`
 * @returns dx `[N, H, W, C]`, dgamma `[C]`, dbeta `[C]`
 */
export function spatialBatchnormBackward(
  dout: Tensor,
  cache: BatchNormCache,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const where = "spatialBatchnormBackward";
  const { mode, xhat, invStd, gamma, xShape } = checkCache<BatchNormCache>(
    where,
    cache,
    "spatialBatchnorm",
  );
  checkShapeIs(where, "dout", dout, xShape);
  // BEGIN SOLUTION ex5.2 Compute dx, dgamma and dbeta per channel from the cache. In train mode the mean and variance depend on x too: backpropagate through them (draw the computational graph, or derive it as in Ioffe & Szegedy 2015, section 3). In test mode they are constants. Return { dx, dgamma, dbeta }.
  const c = xShape[3], m = xhat.length / c;
  const dgamma = new Float64Array(c), dbeta = new Float64Array(c);
  for (let i = 0; i < m; i++) {
    for (let ch = 0; ch < c; ch++) {
      dbeta[ch] += dout.data[i * c + ch];
      dgamma[ch] += dout.data[i * c + ch] * xhat[i * c + ch];
    }
  }
  const dx = new Float64Array(xhat.length);
  for (let i = 0; i < m; i++) {
    for (let ch = 0; ch < c; ch++) {
      const k = i * c + ch;
      dx[k] = mode === "train"
        ? (gamma.data[ch] * invStd[ch] / m) * (m * dout.data[k] - dbeta[ch] - xhat[k] * dgamma[ch])
        : gamma.data[ch] * invStd[ch] * dout.data[k];
    }
  }
  return {
    dx: { data: dx, shape: [...xShape] },
    dgamma: { data: dgamma, shape: [c] },
    dbeta: { data: dbeta, shape: [c] },
  };
  // END SOLUTION
}
