/**
 * Output sizes as TensorFlow.js computes them (`backend_util.computeConv2DInfo`), with the lecture's
 * rule that a window must fit a whole number of times. This is the library's output-size arithmetic for
 * notebooks and figures: it is not exercise ex1 (`convOutputSize` in `shape.ts`), which students write,
 * so no lecture number or figure depends on a student's code.
 *
 * @module
 */
import { checkWindowSizes, ShapeError } from "../errors.ts";
import type { Conv2dInfo, WindowOptions } from "../shape.ts";
import { tf } from "./backend.ts";

function sizeWith(n: number, f: number, s: number, p: number, rounding: "floor" | "ceil"): number {
  const info = tf.backend_util.computeConv2DInfo(
    [1, n, 1, 1],
    [f, 1, 1, 1],
    [s, 1],
    1,
    p,
    rounding,
  );
  return info.outHeight;
}

/**
 * Output length of a window of `f` sliding over `n` with stride `s` and zero padding `p` on each side,
 * `(n - f + 2p) / s + 1` (lecture 7, "Output size"), from tfjs's conv arithmetic: with `rounding`
 * "exact" (the lecture's rule, the default) a stride that does not fit is an error; "floor" drops the
 * positions the window cannot reach, as PyTorch and tfjs do.
 *
 * @param n input length (height or width), a whole number >= 1
 * @param f window length, >= 1
 * @param s stride, >= 1
 * @param p zero padding on each side, >= 0
 * @param where the caller's name, put at the front of error messages
 * @throws {RangeError} when a size is not a whole number in range
 * @throws {ShapeError} when the window does not fit the padded input, or (exact) the stride does not
 *   fit: tfjs's floor and ceil of the formula differ
 *
 * @example
 * ```ts
 * import { outputSize } from "convkit/tf/output_size.ts";
 * import assert from "node:assert/strict";
 * assert.equal(outputSize(7, 3, 2, 0), 3); // lecture: 7x7 input, 3x3 filter, stride 2
 * assert.equal(outputSize(32, 5, 1, 2), 32);
 * assert.throws(() => outputSize(7, 3, 3, 0), /stride 3 does not fit/);
 * assert.equal(outputSize(7, 3, 3, 0, "pool", "floor"), 2);
 * ```
 * @see ../../notebooks/02_spatial_arithmetic.ipynb
 */
export function outputSize(
  n: number,
  f: number,
  s: number,
  p: number,
  where = "outputSize",
  rounding: "exact" | "floor" = "exact",
): number {
  checkWindowSizes(where, n, f, s, p);
  if (n + 2 * p < f) {
    throw new ShapeError(
      `${where}: a ${f}-wide filter does not fit a ${n}-wide input with pad ${p}: ${n} + 2*${p} = ${
        n + 2 * p
      } < ${f}`,
      { expected: [f], actual: [n + 2 * p] },
    );
  }
  const down = sizeWith(n, f, s, p, "floor");
  if (rounding === "floor") return down;
  const up = sizeWith(n, f, s, p, "ceil");
  if (up !== down) {
    const exact = (n - f + 2 * p) / s + 1;
    throw new ShapeError(
      `${where}: stride ${s} does not fit a ${n}-wide input with a ${f}-wide filter and pad ${p}: ` +
        `(${n} - ${f} + ${2 * p}) / ${s} + 1 = ${exact.toFixed(2)} is not an integer`,
      { expected: [down], actual: [exact] },
    );
  }
  return down;
}

/**
 * Shapes of a convolution (as `conv2dInfo` in `shape.ts`), from the library's arithmetic.
 *
 * @param xShape `[N, H, W, C]`; @param wShape `[F, F, C, K]`
 * @throws {ShapeError} on ranks, channels or sizes that do not fit
 */
export function convInfo(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: WindowOptions,
  bShape?: readonly number[],
  where = "convInfo",
): Conv2dInfo {
  if (xShape.length !== 4 || wShape.length !== 4) {
    throw new ShapeError(`${where}: x must be [N, H, W, C] and w [F, F, C_in, K]`, {
      expected: [4, 4],
      actual: [xShape.length, wShape.length],
    });
  }
  const [n, h, w, c] = xShape, [fh, fw, cIn, k] = wShape;
  if (cIn !== c) {
    throw new ShapeError(`${where}: filters expect ${cIn} input channels, x has ${c}`, {
      expected: [cIn],
      actual: [c],
    });
  }
  if (bShape !== undefined && (bShape.length !== 1 || bShape[0] !== k)) {
    throw new ShapeError(`${where}: bias must have shape [${k}]`, {
      expected: [k],
      actual: bShape,
    });
  }
  const outH = outputSize(h, fh, opts.stride, opts.pad, `${where} (height)`, opts.rounding);
  const outW = outputSize(w, fw, opts.stride, opts.pad, `${where} (width)`, opts.rounding);
  return { n, h, w, c, fh, fw, k, stride: opts.stride, pad: opts.pad, outH, outW };
}
