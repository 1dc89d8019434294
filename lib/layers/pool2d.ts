/**
 * Pooling layers: max and average over F x F windows at stride S, each depth slice on its own.
 *
 * Input `[N, H, W, C]`, output `[N, (H - F) / S + 1, (W - F) / S + 1, C]`: the depth is kept and there are
 * no parameters. Common settings: F = 2, S = 2 and F = 3, S = 2.
 *
 * @module
 */
import { type Pool2dInfo, pool2dInfo, type PoolOptions } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { checkCache, checkShapeIs, checkTensor } from "./checks.ts";

export type { PoolOptions };

/** What `maxPool2dForward` keeps: for each output, the flat input offset of its maximum. */
export interface MaxPool2dCache {
  readonly layer: "maxPool2d";
  readonly xShape: readonly number[];
  readonly argmax: Int32Array;
  readonly info: Pool2dInfo;
}

/** What `avgPool2dForward` keeps. */
export interface AvgPool2dCache {
  readonly layer: "avgPool2d";
  readonly xShape: readonly number[];
  readonly info: Pool2dInfo;
}

function check(where: string, x: Tensor, opts: PoolOptions): Pool2dInfo {
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${where}: options { size, stride } are required`);
  }
  return pool2dInfo(x.shape, opts, where);
}

/**
 * Max pooling forward: each output is the largest value in its F x F window (the first one on ties).
 *
 * @param x input `[N, H, W, C]`
 * @param opts `{ size: F, stride: S }`
 * @returns out `[N, (H - F) / S + 1, (W - F) / S + 1, C]` and the cache for `maxPool2dBackward`
 *
 * @example
 * ```ts
 * import { maxPool2dForward } from "convkit/layers/pool2d.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // the lecture's 4x4 example, 2x2 windows at stride 2
 * const x = tensor([1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4], [1, 4, 4, 1]);
 * const { out } = maxPool2dForward(x, { size: 2, stride: 2 });
 * assert.deepEqual([...out.data], [6, 8, 3, 4]);
 * ```
 * @see ../../notebooks/01_convolution_layer.ipynb
 */
export function maxPool2dForward(
  x: Tensor,
  opts: PoolOptions,
): { out: Tensor; cache: MaxPool2dCache } {
  const info = check("maxPool2dForward", x, opts);
  // BEGIN SOLUTION ex3.1 Take the maximum of each F x F window of each channel (the first on ties), remember its flat input offset in argmax, and return { out, cache: { layer: "maxPool2d", xShape, argmax, info } }.
  const { n, h, w, c, size, stride, outH, outW } = info;
  const out = new Float64Array(n * outH * outW * c);
  const argmax = new Int32Array(out.length);
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, bestAt = -1;
          for (let i = 0; i < size; i++) {
            for (let j = 0; j < size; j++) {
              const at = ((img * h + oh * stride + i) * w + ow * stride + j) * c + ch;
              // the first maximum; a NaN wins (PyTorch propagates it), and a window of -Infinity still has one
              const v = x.data[at];
              if (bestAt < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
                best = v;
                bestAt = at;
              }
            }
          }
          const o = ((img * outH + oh) * outW + ow) * c + ch;
          out[o] = best;
          argmax[o] = bestAt;
        }
      }
    }
  }
  return {
    out: { data: out, shape: [n, outH, outW, c] },
    cache: { layer: "maxPool2d", xShape: [...x.shape], argmax, info },
  };
  // END SOLUTION
}

/**
 * Max pooling backward: each upstream gradient goes to the input that was the maximum of its window;
 * every other input gets zero from that window.
 *
 * @param dout upstream gradient `[N, H', W', C]`
 * @param cache from `maxPool2dForward`
 * @returns dx `[N, H, W, C]`
 *
 * @example
 * ```ts
 * import { maxPool2dBackward, maxPool2dForward } from "convkit/layers/pool2d.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const { cache } = maxPool2dForward(tensor([1, 3, 2, 0], [1, 2, 2, 1]), { size: 2, stride: 2 });
 * assert.deepEqual([...maxPool2dBackward(tensor([5], [1, 1, 1, 1]), cache).dx.data], [0, 5, 0, 0]);
 * ```
 */
export function maxPool2dBackward(dout: Tensor, cache: MaxPool2dCache): { dx: Tensor } {
  const where = "maxPool2dBackward";
  const { xShape, argmax, info } = checkCache<MaxPool2dCache>(where, cache, "maxPool2d");
  checkShapeIs(where, "dout", dout, [info.n, info.outH, info.outW, info.c]);
  // BEGIN SOLUTION ex3.2 Send each upstream gradient to the input that was its window's maximum (cache.argmax); return { dx }.
  const dx = new Float64Array(info.n * info.h * info.w * info.c);
  for (let o = 0; o < argmax.length; o++) dx[argmax[o]] += dout.data[o];
  return { dx: { data: dx, shape: [...xShape] } };
  // END SOLUTION
}

/**
 * Average pooling forward: each output is the mean of its F x F window.
 *
 * @param x input `[N, H, W, C]`
 * @param opts `{ size: F, stride: S }`
 * @returns out `[N, (H - F) / S + 1, (W - F) / S + 1, C]` and the cache for `avgPool2dBackward`
 *
 * @example
 * ```ts
 * import { avgPool2dForward } from "convkit/layers/pool2d.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4], [1, 4, 4, 1]);
 * assert.deepEqual([...avgPool2dForward(x, { size: 2, stride: 2 }).out.data], [3.25, 5.25, 2, 2]);
 * ```
 */
export function avgPool2dForward(
  x: Tensor,
  opts: PoolOptions,
): { out: Tensor; cache: AvgPool2dCache } {
  const info = check("avgPool2dForward", x, opts);
  const { n, h, w, c, size, stride, outH, outW } = info;
  const out = new Float64Array(n * outH * outW * c);
  const area = size * size;
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let i = 0; i < size; i++) {
            for (let j = 0; j < size; j++) {
              s += x.data[((img * h + oh * stride + i) * w + ow * stride + j) * c + ch];
            }
          }
          out[((img * outH + oh) * outW + ow) * c + ch] = s / area;
        }
      }
    }
  }
  return {
    out: { data: out, shape: [n, outH, outW, c] },
    cache: { layer: "avgPool2d", xShape: [...x.shape], info },
  };
}

/**
 * Average pooling backward: each upstream gradient is shared equally, 1 / F² each, by its window's inputs.
 *
 * @param dout upstream gradient `[N, H', W', C]`
 * @param cache from `avgPool2dForward`
 * @returns dx `[N, H, W, C]`
 */
export function avgPool2dBackward(dout: Tensor, cache: AvgPool2dCache): { dx: Tensor } {
  const where = "avgPool2dBackward";
  const { xShape, info } = checkCache<AvgPool2dCache>(where, cache, "avgPool2d");
  const { n, h, w, c, size, stride, outH, outW } = info;
  checkShapeIs(where, "dout", dout, [n, outH, outW, c]);
  const dx = new Float64Array(n * h * w * c);
  const area = size * size;
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let ch = 0; ch < c; ch++) {
          const g = dout.data[((img * outH + oh) * outW + ow) * c + ch] / area;
          for (let i = 0; i < size; i++) {
            for (let j = 0; j < size; j++) {
              dx[((img * h + oh * stride + i) * w + ow * stride + j) * c + ch] += g;
            }
          }
        }
      }
    }
  }
  return { dx: { data: dx, shape: [...xShape] } };
}
