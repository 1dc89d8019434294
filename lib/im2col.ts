/**
 * im2col and col2im: every F x F x C patch a filter visits becomes one row of a matrix, so that a whole
 * convolution is one matrix product. Rows are ordered (n, oh, ow) and columns (i, j, c), which is exactly
 * the row-major order of filters `[F, F, C, K]` seen as a `[F*F*C, K]` matrix.
 *
 * @module
 */
import type { Conv2dInfo } from "./shape.ts";

/**
 * Patches of `x` `[N, H, W, C]` as rows: a `[N*H'*W', FH*FW*C]` matrix (padded cells are zeros).
 *
 * @example
 * ```ts
 * import { im2col } from "convkit/im2col.ts";
 * import { conv2dInfo } from "convkit/shape.ts";
 * import assert from "node:assert/strict";
 * // 3x3 input 1..9, 2x2 window, stride 1: four patches
 * const info = conv2dInfo([1, 3, 3, 1], [2, 2, 1, 1], { stride: 1, pad: 0 });
 * const cols = im2col(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), info);
 * assert.deepEqual([...cols], [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);
 * ```
 */
export function im2col(x: Float64Array, info: Conv2dInfo): Float64Array {
  const { n, h, w, c, fh, fw, stride, pad, outH, outW } = info;
  // BEGIN SOLUTION ex4.1 Copy every F x F x C patch into one row of a [N*H'*W', F*F*C] matrix: rows ordered (n, oh, ow), columns (i, j, c); padded cells stay 0.
  const rowLen = fh * fw * c;
  const cols = new Float64Array(n * outH * outW * rowLen);
  let row = 0;
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++, row++) {
        const base = row * rowLen;
        for (let i = 0; i < fh; i++) {
          const ih = oh * stride - pad + i;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < fw; j++) {
            const iw = ow * stride - pad + j;
            if (iw < 0 || iw >= w) continue;
            const src = ((img * h + ih) * w + iw) * c;
            const dst = base + (i * fw + j) * c;
            for (let ch = 0; ch < c; ch++) cols[dst + ch] = x[src + ch];
          }
        }
      }
    }
  }
  return cols;
  // END SOLUTION
}

/**
 * The adjoint of `im2col`: adds each row's values back to the input cells they came from
 * (cells shared by overlapping patches receive the sum). Returns `[N, H, W, C]` data.
 */
export function col2im(cols: Float64Array, info: Conv2dInfo): Float64Array {
  const { n, h, w, c, fh, fw, stride, pad, outH, outW } = info;
  // BEGIN SOLUTION ex4.2 The adjoint of im2col: add each row's values back into the input cells they came from; return [N, H, W, C] data.
  const rowLen = fh * fw * c;
  const x = new Float64Array(n * h * w * c);
  let row = 0;
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++, row++) {
        const base = row * rowLen;
        for (let i = 0; i < fh; i++) {
          const ih = oh * stride - pad + i;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < fw; j++) {
            const iw = ow * stride - pad + j;
            if (iw < 0 || iw >= w) continue;
            const dst = ((img * h + ih) * w + iw) * c;
            const src = base + (i * fw + j) * c;
            for (let ch = 0; ch < c; ch++) x[dst + ch] += cols[src + ch];
          }
        }
      }
    }
  }
  return x;
  // END SOLUTION
}
