/**
 * The convolutional layer, naive version: loops a student can read line by line.
 *
 * Input x `[N, H, W, C]`, filters w `[F, F, C, K]`, bias b `[K]`, stride S, zero padding P.
 * Output `[N, H', W', K]` with `H' = (H - F + 2P) / S + 1` and `W' = (W - F + 2P) / S + 1`.
 * Each output number is one neuron: the dot product of one filter with the F x F x C patch under it, plus a bias.
 *
 * The im2col version in `conv2d_im2col.ts` has the same signatures and is checked against this one.
 *
 * @module
 */
import { type Conv2dInfo, conv2dInfo, type WindowOptions } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { checkCache, checkShapeIs, checkTensor } from "./checks.ts";

export type { WindowOptions as Conv2dOptions };

/** What `conv2dForward` keeps for the backward pass. */
export interface Conv2dCache {
  readonly layer: "conv2d";
  readonly x: Tensor;
  readonly w: Tensor;
  readonly b: Tensor;
  readonly info: Conv2dInfo;
}

/** Gradients of the loss with respect to the conv layer's input, filters and bias. */
export interface Conv2dGrads {
  /** `[N, H, W, C]`, like x. */
  dx: Tensor;
  /** `[F, F, C, K]`, like w. */
  dw: Tensor;
  /** `[K]`, like b. */
  db: Tensor;
}

/** Checks the arguments of a conv forward pass and returns its shapes (shared by every conv path). */
export function conv2dCheck(
  where: string,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: WindowOptions,
): Conv2dInfo {
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  checkTensor(where, "w", w, 4, "[F, F, C_in, K]");
  checkTensor(where, "b", b, 1, "[K]");
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${where}: options { stride, pad } are required`);
  }
  return conv2dInfo(x.shape, w.shape, opts, b.shape, where);
}

/** Checks a conv backward pass's arguments and returns its cache. */
export function conv2dCheckBackward(where: string, dout: Tensor, cache: Conv2dCache): Conv2dCache {
  const c = checkCache<Conv2dCache>(where, cache, "conv2d");
  const { n, outH, outW, k } = c.info;
  checkShapeIs(where, "dout", dout, [n, outH, outW, k]);
  return c;
}

/**
 * Forward pass of a convolutional layer (naive loops).
 *
 * @param x input volume `[N, H, W, C]`
 * @param w filters `[F, F, C, K]`: K filters, each F x F and as deep as the input
 * @param b biases `[K]`, one per filter
 * @param opts `{ stride: S, pad: P }`
 * @returns out `[N, (H - F + 2P) / S + 1, (W - F + 2P) / S + 1, K]` and the cache for `conv2dBackward`
 * @throws {ShapeError} when channels, ranks or bias length do not match, or S and P do not fit
 *
 * @example
 * ```ts
 * import { conv2dForward } from "convkit/layers/conv2d.ts";
 * import { tensor, zeros, full } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // one 5x5x3 filter of ones on a 32x32x3 image of ones: 75 multiply-adds per position
 * const { out } = conv2dForward(full([1, 32, 32, 3], 1), full([5, 5, 3, 1], 1), zeros([1]), { stride: 1, pad: 0 });
 * assert.deepEqual(out.shape, [1, 28, 28, 1]);
 * assert.equal(out.data[0], 75);
 * // a 2x2 input, a 1x1 filter of 2 and bias 1
 * const y = conv2dForward(tensor([1, 2, 3, 4], [1, 2, 2, 1]), tensor([2], [1, 1, 1, 1]), tensor([1], [1]), { stride: 1, pad: 0 });
 * assert.deepEqual([...y.out.data], [3, 5, 7, 9]);
 * ```
 * @see ../../notebooks/01_convolution_layer.ipynb
 */
export function conv2dForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: WindowOptions,
): { out: Tensor; cache: Conv2dCache } {
  const info = conv2dCheck("conv2dForward", x, w, b, opts);
  // BEGIN SOLUTION ex2.1 Compute out [N, H', W', K] with loops over images, output positions and filters: each output is b[f] plus the dot product of filter f with the F x F x C patch under it (padded cells are zeros). Return { out, cache: { layer: "conv2d", x, w, b, info } }.
  const { n, h, w: width, c, fh, fw, k, stride, pad, outH, outW } = info;
  const out = new Float64Array(n * outH * outW * k);
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let f = 0; f < k; f++) {
          let sum = b.data[f];
          // the F x F x C patch whose top-left corner is (oh*S - P, ow*S - P); padded cells are zeros
          for (let i = 0; i < fh; i++) {
            const ih = oh * stride - pad + i;
            if (ih < 0 || ih >= h) continue;
            for (let j = 0; j < fw; j++) {
              const iw = ow * stride - pad + j;
              if (iw < 0 || iw >= width) continue;
              for (let ch = 0; ch < c; ch++) {
                sum += x.data[((img * h + ih) * width + iw) * c + ch] *
                  w.data[((i * fw + j) * c + ch) * k + f];
              }
            }
          }
          out[((img * outH + oh) * outW + ow) * k + f] = sum;
        }
      }
    }
  }
  return {
    out: { data: out, shape: [n, outH, outW, k] },
    cache: { layer: "conv2d", x, w, b, info },
  };
  // END SOLUTION
}

/**
 * Backward pass of a convolutional layer (naive loops): every output neuron sends its upstream gradient
 * back to the inputs and weights it multiplied.
 *
 * @param dout upstream gradient `[N, H', W', K]`, the shape of the forward output
 * @param cache the cache returned by `conv2dForward` (or `conv2dForwardIm2col`)
 * @returns dx `[N, H, W, C]`, dw `[F, F, C, K]`, db `[K]`
 *
 * @example
 * ```ts
 * import { conv2dBackward, conv2dForward } from "convkit/layers/conv2d.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2, 3, 4], [1, 2, 2, 1]);
 * const { cache } = conv2dForward(x, tensor([2], [1, 1, 1, 1]), tensor([0], [1]), { stride: 1, pad: 0 });
 * const { dx, dw, db } = conv2dBackward(tensor([1, 1, 1, 1], [1, 2, 2, 1]), cache);
 * assert.deepEqual([...dx.data], [2, 2, 2, 2]); // d(2x)/dx
 * assert.deepEqual([...dw.data], [10]); // 1 + 2 + 3 + 4
 * assert.deepEqual([...db.data], [4]);
 * ```
 */
export function conv2dBackward(dout: Tensor, cache: Conv2dCache): Conv2dGrads {
  const { x, w, info } = conv2dCheckBackward("conv2dBackward", dout, cache);
  // BEGIN SOLUTION ex2.2 Compute dx, dw, db: every output's upstream gradient flows back to the inputs and weights it multiplied, and to its bias.
  const { n, h, w: width, c, fh, fw, k, stride, pad, outH, outW } = info;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(k);
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let f = 0; f < k; f++) {
          const g = dout.data[((img * outH + oh) * outW + ow) * k + f];
          db[f] += g;
          for (let i = 0; i < fh; i++) {
            const ih = oh * stride - pad + i;
            if (ih < 0 || ih >= h) continue;
            for (let j = 0; j < fw; j++) {
              const iw = ow * stride - pad + j;
              if (iw < 0 || iw >= width) continue;
              for (let ch = 0; ch < c; ch++) {
                const xi = ((img * h + ih) * width + iw) * c + ch;
                const wi = ((i * fw + j) * c + ch) * k + f;
                dx[xi] += g * w.data[wi];
                dw[wi] += g * x.data[xi];
              }
            }
          }
        }
      }
    }
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dw: { data: dw, shape: [...w.shape] },
    db: { data: db, shape: [k] },
  };
  // END SOLUTION
}
