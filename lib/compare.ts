/**
 * Comparing tensors: relative error, `assertAllClose` with a readable diff of the worst elements,
 * and `cmp`, the one-line check notebooks print (exact / close / max diff).
 *
 * @module
 */
import { ShapeError } from "./errors.ts";
import { formatShape, indexOf, sameShape, type Shape } from "./tensor.ts";

/** Anything with numbers and a shape: a kit tensor, or typed data with a shape (e.g. from tfjs). */
export interface Comparable {
  readonly data: ArrayLike<number>;
  readonly shape: Shape;
}

function checkSame(where: string, a: Comparable, b: Comparable): void {
  if (!sameShape(a.shape, b.shape) || a.data.length !== b.data.length) {
    throw new ShapeError(
      `${where}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`,
      { expected: b.shape, actual: a.shape },
    );
  }
}

/** Where two tensors differ most, by relative error. */
export interface WorstElement {
  /** Flat offset. */
  offset: number;
  /** Multi-index, e.g. `[n, h, w, c]`. */
  index: number[];
  a: number;
  b: number;
  relError: number;
}

/**
 * Relative error of each element, `|a - b| / max(|a| + |b|, floor)`, and the worst of them.
 * The floor, `1e-3` times the largest magnitude in either tensor (and at least 1e-300), keeps elements that are
 * tiny next to the rest from dominating through rounding alone: finite differences at h = 1e-5 carry an absolute
 * noise near 1e-10 of the largest gradient, which on an element 1e4 times smaller would read as a relative
 * error of 1e-6. With the floor, an error on such an element still counts once it exceeds ~1e-10 of the scale.
 *
 * @example
 * ```ts
 * import { relError } from "convkit/compare.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const e = relError(tensor([1, 2], [2]), tensor([1, 2.000002], [2]));
 * assert.ok(Math.abs(e - 0.000002 / 4.000002) < 1e-15);
 * assert.equal(relError(tensor([1, Infinity], [2]), tensor([1, 2], [2])), Infinity);
 * ```
 */
export function relError(a: Comparable, b: Comparable): number {
  return worstElements(a, b, 1)[0]?.relError ?? 0;
}

/** The `count` elements with the largest relative error, worst first. */
export function worstElements(a: Comparable, b: Comparable, count = 5): WorstElement[] {
  checkSame("relError", a, b);
  // the scale of the finite values only: one Infinity must not make every other error look like 0
  let scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    for (const v of [a.data[i], b.data[i]]) {
      if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    }
  }
  const floor = Math.max(1e-3 * scale, 1e-300);
  const worst: WorstElement[] = [];
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i], y = b.data[i];
    let e: number;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) e = 0; // NaN where NaN is right agrees
    else if (!Number.isFinite(x) || !Number.isFinite(y)) e = Infinity;
    else e = Math.abs(x - y) / Math.max(Math.abs(x) + Math.abs(y), floor);
    if (worst.length < count || e > worst[worst.length - 1].relError) {
      worst.push({ offset: i, index: [], a: x, b: y, relError: e });
      worst.sort((p, q) => q.relError - p.relError);
      if (worst.length > count) worst.pop();
    }
  }
  for (const w of worst) w.index = indexOf(a.shape, w.offset);
  return worst;
}

/** Tolerances of `assertAllClose`: element i passes when `|a - b| <= atol + rtol * |b|`. */
export interface Tolerance {
  atol?: number;
  rtol?: number;
}

/** Thrown by `assertAllClose`, with the worst elements in its message. */
export class NotCloseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotCloseError";
  }
}

/**
 * Asserts that `actual` is close to `expected` element-wise: `|a - e| <= atol + rtol * |e|`
 * (defaults: atol 1e-8, rtol 1e-8, for float64). The error lists the worst elements with their indices.
 *
 * @throws {ShapeError} when the shapes differ
 * @throws {NotCloseError} when any element is too far off
 *
 * @example
 * ```ts
 * import { assertAllClose } from "convkit/compare.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * assertAllClose(tensor([1, 2], [2]), tensor([1, 2 + 1e-12], [2]));
 * assert.throws(() => assertAllClose(tensor([1, 2], [2]), tensor([1, 3], [2])), /\[1\]: actual 2 expected 3/);
 * ```
 */
export function assertAllClose(
  actual: Comparable,
  expected: Comparable,
  tol: Tolerance = {},
  name = "tensor",
): void {
  const atol = tol.atol ?? 1e-8, rtol = tol.rtol ?? 1e-8;
  const a = actual, e = expected;
  checkSame(`assertAllClose(${name})`, a, e);
  const bad: { i: number; excess: number }[] = [];
  for (let i = 0; i < a.data.length; i++) {
    const diff = Math.abs(a.data[i] - e.data[i]);
    const allowed = atol + rtol * Math.abs(e.data[i]);
    if (!(diff <= allowed)) bad.push({ i, excess: Number.isNaN(diff) ? Infinity : diff / allowed });
  }
  if (bad.length === 0) return;
  bad.sort((p, q) => q.excess - p.excess);
  const lines = bad.slice(0, 5).map(({ i }) =>
    `  [${indexOf(a.shape, i).join(", ")}]: actual ${a.data[i]} expected ${e.data[i]} (diff ${
      Math.abs(a.data[i] - e.data[i]).toExponential(2)
    })`
  );
  throw new NotCloseError(
    `${name}: ${bad.length} of ${a.data.length} elements differ beyond atol ${atol}, rtol ${rtol} ` +
      `(shape ${formatShape(a.shape)}); worst:\n${lines.join("\n")}`,
  );
}

/** One line of `cmp`: the name, and whether the tensors match exactly, closely, or not, with the max diff. */
export interface CmpResult {
  name: string;
  exact: boolean;
  close: boolean;
  maxDiff: number;
  relError: number;
  toString(): string;
}

/**
 * The notebook check idiom (from nn-zero-to-hero): compares `mine` with `ref` and returns a line
 * `name | exact: false | close: true | max diff: 2.2e-16 | rel error: 1.1e-16`. Pass `{ throw: true }` to make
 * a mismatch an error, which fails the notebook.
 *
 * @example
 * ```ts
 * import { cmp } from "convkit/compare.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const r = cmp("dx", tensor([1, 2], [2]), tensor([1, 2], [2]));
 * assert.ok(r.exact && r.close);
 * ```
 */
export function cmp(
  name: string,
  mine: Comparable,
  ref: Comparable,
  opts: Tolerance & { throw?: boolean } = {},
): CmpResult {
  checkSame(`cmp(${name})`, mine, ref);
  let exact = true, maxDiff = 0, close = true;
  const atol = opts.atol ?? 1e-8, rtol = opts.rtol ?? 1e-8;
  for (let i = 0; i < mine.data.length; i++) {
    const d = Math.abs(mine.data[i] - ref.data[i]);
    if (mine.data[i] !== ref.data[i]) exact = false;
    if (!(d <= atol + rtol * Math.abs(ref.data[i]))) close = false;
    if (d > maxDiff || Number.isNaN(d)) maxDiff = Number.isNaN(d) ? NaN : d;
  }
  const rel = relError(mine, ref);
  const result: CmpResult = {
    name,
    exact,
    close,
    maxDiff,
    relError: rel,
    toString: () =>
      `${name.padEnd(12)} | exact: ${String(exact).padEnd(5)} | close: ${
        String(close).padEnd(5)
      } | max diff: ${maxDiff.toExponential(1)} | rel error: ${rel.toExponential(1)}`,
  };
  if (opts.throw && !close) {
    throw new NotCloseError(`cmp: ${result}`);
  }
  return result;
}

/**
 * Asserts that a tensor has the expected shape; the error names both shapes.
 *
 * @example
 * ```ts
 * import { assertShape } from "convkit/compare.ts";
 * import { zeros } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * assertShape(zeros([1, 28, 28, 6]), [1, 28, 28, 6]);
 * assert.throws(() => assertShape(zeros([1, 28, 28, 6]), [1, 28, 28, 1]), /expected 1x28x28x1, got 1x28x28x6/);
 * ```
 */
export function assertShape(t: { readonly shape: Shape }, expected: Shape, name = "tensor"): void {
  if (!sameShape(t.shape, expected)) {
    throw new ShapeError(
      `${name}: expected ${formatShape(expected)}, got ${formatShape(t.shape)}`,
      { expected, actual: t.shape },
    );
  }
}

/**
 * The error of a float64 result against a float32 reference (tfjs): the largest difference relative to
 * each reference element's size, sizes floored at 1% of the reference's largest magnitude (a sum of
 * hundreds of float32 products that nearly cancels, or a gradient far smaller than its neighbours, is not
 * held to 1e-7 of itself). Below 1e-4 the two agree.
 *
 * @param a the result, @param b the reference, of the same length
 * @example
 * ```ts
 * import { float32Error } from "convkit/compare.ts";
 * import assert from "node:assert/strict";
 * assert.ok(float32Error([1, 2.00001], [1, 2]) < 1e-4);
 * assert.ok(float32Error([1, -2], [1, 2]) > 1);
 * ```
 */
export function float32Error(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) max = Math.max(max, Math.abs(b[i]));
  const floor = 1e-2 * max + 1e-30;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}
