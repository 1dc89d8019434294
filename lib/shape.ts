/**
 * Output-size arithmetic for convolution and pooling, used by every path (naive, im2col, tfjs),
 * and the `ShapeError` every layer throws on input that does not fit.
 *
 * The one formula: `out = (N - F + 2P) / S + 1` for an input of N, a filter of F, pad P, stride S.
 *
 * @module
 */

export { ShapeError } from "./errors.ts";
export { samePad } from "./same_pad.ts";
import { checkWindowSizes, ShapeError } from "./errors.ts";

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** Options of a strided window (conv or pool): stride S and zero padding P, the same along H and W. */
export interface WindowOptions {
  /** Step of the window in pixels, a whole number >= 1. */
  stride: number;
  /** Zeros added on every border, a whole number >= 0. */
  pad: number;
  /**
   * "exact" (the default, the lecture's rule): a stride that does not fit is an error.
   * "floor" (what PyTorch, Caffe and ResNet do): the last rows and columns the window cannot reach are
   * dropped, `out = floor((N - F + 2P) / S) + 1`.
   */
  rounding?: "exact" | "floor";
}

/**
 * Output length of a window of `f` sliding over `n` with stride `s` and pad `p`: `(n - f + 2p) / s + 1`.
 *
 * @param n input length (height or width)
 * @param f filter (window) length
 * @param s stride, >= 1
 * @param p zero padding on each side, >= 0
 * @param where the caller's name, put at the front of the error message
 * @param rounding "exact" (default) throws when the stride does not fit; "floor" rounds down as PyTorch does
 * @throws {ShapeError} when the window does not fit a whole number of times, showing the arithmetic
 * @throws {RangeError} when s, p, n or f are not whole numbers in range
 *
 * @example
 * ```ts
 * import { convOutputSize } from "convkit/shape.ts";
 * import assert from "node:assert/strict";
 * assert.equal(convOutputSize(7, 3, 1, 0), 5);
 * assert.equal(convOutputSize(7, 3, 2, 0), 3);
 * assert.equal(convOutputSize(32, 5, 1, 2), 32);
 * assert.throws(() => convOutputSize(7, 3, 3, 0), /\(7 - 3 \+ 0\) \/ 3 \+ 1 = 2\.33 is not an integer/);
 * assert.equal(convOutputSize(56, 3, 2, 1, "resnet", "floor"), 28); // floor(55 / 2) + 1
 * ```
 * @see ../notebooks/01_convolution_layer.ipynb
 */
export function convOutputSize(
  n: number,
  f: number,
  s: number,
  p: number,
  where = "convOutputSize",
  rounding: "exact" | "floor" = "exact",
): number {
  checkWindowSizes(where, n, f, s, p);
  // BEGIN SOLUTION ex1 Compute (n - f + 2p) / s + 1. Throw a ShapeError (with expected and actual) when the filter does not fit the padded input, and when the result is not a whole number (show the arithmetic, e.g. "(7 - 3 + 0) / 3 + 1 = 2.33 is not an integer"), unless rounding is "floor".
  const span = n - f + 2 * p;
  if (span < 0) {
    throw new ShapeError(
      `${where}: a ${f}-wide filter does not fit a ${n}-wide input with pad ${p}: ${n} + 2*${p} = ${
        n + 2 * p
      } < ${f}`,
      { expected: [f], actual: [n + 2 * p] },
    );
  }
  const out = span / s + 1;
  if (rounding === "floor") return Math.floor(span / s) + 1;
  if (!Number.isInteger(out)) {
    throw new ShapeError(
      `${where}: stride ${s} does not fit a ${n}-wide input with a ${f}-wide filter and pad ${p}: ` +
        `(${n} - ${f} + ${2 * p}) / ${s} + 1 = ${fmt(out)} is not an integer`,
      { expected: [Math.floor(out)], actual: [out] },
    );
  }
  return out;
  // END SOLUTION
}

/** Everything a conv path needs to know about its shapes, computed once (cf. tfjs `computeConv2DInfo`). */
export interface Conv2dInfo {
  n: number;
  h: number;
  w: number;
  c: number;
  fh: number;
  fw: number;
  k: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
}

/** Throws a ShapeError unless `shape` has `rank` axes. */
export function assertRank(
  where: string,
  what: string,
  shape: readonly number[],
  rank: number,
  layout: string,
): void {
  if (shape.length !== rank) {
    throw new ShapeError(
      `${where}: ${what} must have rank ${rank} (${layout}), got rank ${shape.length} [${
        shape.join(", ")
      }]`,
      { expected: [rank], actual: [shape.length] },
    );
  }
}

/**
 * Shapes of a convolution of `x` `[N, H, W, C]` with filters `w` `[FH, FW, C, K]` (and bias `[K]` if given).
 *
 * @throws {ShapeError} on wrong ranks, mismatched channels or bias length, and sizes that do not fit
 *
 * @example
 * ```ts
 * import { conv2dInfo } from "convkit/shape.ts";
 * import assert from "node:assert/strict";
 * const info = conv2dInfo([1, 32, 32, 3], [5, 5, 3, 6], { stride: 1, pad: 0 });
 * assert.deepEqual([info.outH, info.outW, info.k], [28, 28, 6]);
 * ```
 */
export function conv2dInfo(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: WindowOptions,
  bShape?: readonly number[],
  where = "conv2dInfo",
): Conv2dInfo {
  assertRank(where, "x", xShape, 4, "[N, H, W, C]");
  assertRank(where, "w", wShape, 4, "[F, F, C_in, K]");
  const [n, h, w, c] = xShape;
  const [fh, fw, cIn, k] = wShape;
  if (cIn !== c) {
    throw new ShapeError(
      `${where}: filters w [${wShape.join(", ")}] expect ${cIn} input channels, but x [${
        xShape.join(", ")
      }] has ${c}`,
      { expected: [cIn], actual: [c] },
    );
  }
  if (bShape !== undefined && (bShape.length !== 1 || bShape[0] !== k)) {
    throw new ShapeError(
      `${where}: bias must have shape [${k}] (one per filter), got [${bShape.join(", ")}]`,
      { expected: [k], actual: bShape },
    );
  }
  const outH = convOutputSize(h, fh, opts.stride, opts.pad, `${where} (height)`, opts.rounding);
  const outW = convOutputSize(w, fw, opts.stride, opts.pad, `${where} (width)`, opts.rounding);
  return { n, h, w, c, fh, fw, k, stride: opts.stride, pad: opts.pad, outH, outW };
}

/** Options of a pooling window: its size F and stride S (no padding, as in the lecture). */
export interface PoolOptions {
  /** Window size F (F x F). */
  size: number;
  /** Step of the window, S. */
  stride: number;
}

/** Shapes of pooling `[N, H, W, C]` with an F x F window at stride S: `[N, (H - F) / S + 1, (W - F) / S + 1, C]`. */
export interface Pool2dInfo {
  n: number;
  h: number;
  w: number;
  c: number;
  size: number;
  stride: number;
  outH: number;
  outW: number;
}

/**
 * Shapes of pooling `x` `[N, H, W, C]` with `{ size, stride }`.
 *
 * @example
 * ```ts
 * import { pool2dInfo } from "convkit/shape.ts";
 * import assert from "node:assert/strict";
 * const info = pool2dInfo([1, 224, 224, 64], { size: 2, stride: 2 });
 * assert.deepEqual([info.outH, info.outW, info.c], [112, 112, 64]);
 * ```
 */
export function pool2dInfo(
  xShape: readonly number[],
  opts: PoolOptions,
  where = "pool2dInfo",
): Pool2dInfo {
  assertRank(where, "x", xShape, 4, "[N, H, W, C]");
  const [n, h, w, c] = xShape;
  const outH = convOutputSize(h, opts.size, opts.stride, 0, `${where} (height)`);
  const outW = convOutputSize(w, opts.size, opts.stride, 0, `${where} (width)`);
  return { n, h, w, c, size: opts.size, stride: opts.stride, outH, outW };
}
