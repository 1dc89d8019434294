/**
 * The convolutional layer as one matrix product (im2col), with the same signatures as the naive
 * `conv2dForward` / `conv2dBackward` and checked against them in tests.
 *
 * Forward: `out[N*H'*W', K] = cols[N*H'*W', F*F*C] · W[F*F*C, K] + b`, which is already NHWC.
 * Backward: `dW = colsᵀ · dout`, `dcols = dout · Wᵀ`, `dx = col2im(dcols)`, `db = Σ dout`.
 *
 * @module
 */
import { col2im, im2col } from "../im2col.ts";
import { matmul, matmulTransA, matmulTransB } from "../matmul.ts";
import type { WindowOptions } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { type Conv2dCache, conv2dCheck, conv2dCheckBackward, type Conv2dGrads } from "./conv2d.ts";

/**
 * Forward pass of a convolutional layer through im2col and a matrix product. Same arguments,
 * result and errors as `conv2dForward`.
 *
 * @param x input `[N, H, W, C]`
 * @param w filters `[F, F, C, K]`
 * @param b biases `[K]`
 * @param opts `{ stride, pad }`
 * @returns out `[N, (H - F + 2P) / S + 1, (W - F + 2P) / S + 1, K]` and a cache for either backward pass
 *
 * @example
 * ```ts
 * import { conv2dForwardIm2col } from "convkit/layers/conv2d_im2col.ts";
 * import { conv2dForward } from "convkit/layers/conv2d.ts";
 * import { randn, Rng } from "convkit/random.ts";
 * import { relError } from "convkit/compare.ts";
 * import assert from "node:assert/strict";
 * const rng = new Rng(0);
 * const x = randn([2, 7, 7, 3], rng), w = randn([3, 3, 3, 4], rng), b = randn([4], rng);
 * const fast = conv2dForwardIm2col(x, w, b, { stride: 2, pad: 1 }).out;
 * const naive = conv2dForward(x, w, b, { stride: 2, pad: 1 }).out;
 * assert.ok(relError(fast, naive) < 1e-12);
 * ```
 * @see ../../notebooks/01_convolution_layer.ipynb
 */
export function conv2dForwardIm2col(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: WindowOptions,
): { out: Tensor; cache: Conv2dCache } {
  const info = conv2dCheck("conv2dForwardIm2col", x, w, b, opts);
  const { n, fh, fw, c, k, outH, outW } = info;
  const rows = n * outH * outW;
  const cols = im2col(x.data, info);
  const out = matmul(cols, w.data, rows, fh * fw * c, k);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < k; f++) out[r * k + f] += b.data[f];
  }
  return {
    out: { data: out, shape: [n, outH, outW, k] },
    cache: { layer: "conv2d", x, w, b, info },
  };
}

/**
 * Backward pass of a convolutional layer through im2col. Same arguments, result and errors as
 * `conv2dBackward`.
 *
 * @param dout upstream gradient `[N, H', W', K]`
 * @param cache from `conv2dForward` or `conv2dForwardIm2col`
 * @returns dx `[N, H, W, C]`, dw `[F, F, C, K]`, db `[K]`
 */
export function conv2dBackwardIm2col(dout: Tensor, cache: Conv2dCache): Conv2dGrads {
  const { x, w, info } = conv2dCheckBackward("conv2dBackwardIm2col", dout, cache);
  const { n, fh, fw, c, k, outH, outW } = info;
  const rows = n * outH * outW, patch = fh * fw * c;
  const cols = im2col(x.data, info);
  const dw = matmulTransA(cols, dout.data, rows, patch, k);
  const dcols = matmulTransB(dout.data, w.data, rows, k, patch);
  const dx = col2im(dcols, info);
  const db = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < k; f++) db[f] += dout.data[r * k + f];
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dw: { data: dw, shape: [...w.shape] },
    db: { data: db, shape: [k] },
  };
}
