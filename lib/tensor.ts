/**
 * Tensors of the teaching layers: flat `Float64Array` data plus a shape, row-major.
 *
 * Activations are NHWC `[N, H, W, C]` (the lecture's W x H x D volume with a batch axis in front),
 * conv filters are `[F, F, C_in, K]`, biases `[K]`.
 *
 * @module
 */
import { ShapeError } from "./errors.ts";

/** A shape: one whole number of at least 0 per axis. */
export type Shape = readonly number[];
/** Shape of an activation volume: batch, height, width, depth (channels). */
export type NHWC = readonly [n: number, h: number, w: number, c: number];
/** Shape of a bank of conv filters: filter height, filter width, input depth, number of filters. */
export type FilterShape = readonly [fh: number, fw: number, cIn: number, k: number];

/** A tensor: flat row-major data and its shape. `data.length` is the product of `shape`. */
export interface Tensor {
  readonly data: Float64Array;
  readonly shape: Shape;
}

/** Number of elements of a shape: the product of its axes (1 for the empty shape of a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2, 3, 4]` as `2x3x4`, the way errors and notebooks print shapes. */
export function formatShape(shape: Shape): string {
  return shape.length === 0 ? "scalar" : shape.join("x");
}

function checkShape(shape: Shape, where: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${where}: shape [${shape.join(", ")}] has an axis that is not a whole number >= 0`,
      );
    }
  }
}

/**
 * Makes a tensor from data (a `Float64Array`, or numbers that are copied) and a shape.
 *
 * @param data values in row-major order; `data.length` must equal the product of `shape`
 * @param shape one length per axis, e.g. `[N, H, W, C]`
 * @throws {ShapeError} when the data length does not match the shape
 *
 * @example
 * ```ts
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * assert.equal(t.data[1 * 3 + 2], 6); // row 1, column 2
 * assert.deepEqual(t.shape, [2, 3]);
 * ```
 * @see ../notebooks/01_convolution_layer.ipynb
 */
export function tensor(data: Float64Array | ArrayLike<number>, shape: Shape): Tensor {
  checkShape(shape, "tensor");
  const flat = data instanceof Float64Array ? data : Float64Array.from(data);
  const n = sizeOf(shape);
  if (flat.length !== n) {
    throw new ShapeError(
      `tensor: ${flat.length} values do not fill a ${formatShape(shape)} tensor (${n} values)`,
      { expected: [n], actual: [flat.length] },
    );
  }
  for (let i = 0; i < flat.length; i++) {
    if (Number.isNaN(flat[i])) throw new RangeError(`tensor: value ${i} is NaN`);
  }
  return { data: flat, shape: [...shape] };
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { zeros } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(zeros([2, 4, 4, 3]).data.length, 96);
 * ```
 */
export function zeros(shape: Shape): Tensor {
  checkShape(shape, "zeros");
  return { data: new Float64Array(sizeOf(shape)), shape: [...shape] };
}

/** A tensor of zeros with the shape of `t`. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number): Tensor {
  const t = zeros(shape);
  t.data.fill(value);
  return t;
}

/** A copy of `t` that shares no memory with it. */
export function clone(t: Tensor): Tensor {
  return { data: t.data.slice(), shape: [...t.shape] };
}

/**
 * The same data seen with another shape of the same size (no copy).
 *
 * @example
 * ```ts
 * import { reshape, tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(reshape(tensor([1, 2, 3, 4], [1, 2, 2, 1]), [1, 4]).shape, [1, 4]);
 * ```
 */
export function reshape(t: Tensor, shape: Shape): Tensor {
  checkShape(shape, "reshape");
  if (sizeOf(shape) !== t.data.length) {
    throw new ShapeError(
      `reshape: a ${formatShape(t.shape)} tensor (${t.data.length} values) cannot be seen as ${
        formatShape(shape)
      } (${sizeOf(shape)} values)`,
      { expected: shape, actual: t.shape },
    );
  }
  return { data: t.data, shape: [...shape] };
}

/** Element-wise sum of tensors of one shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  assertSameShape("add", a, b);
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  return { data: out, shape: [...a.shape] };
}

/** Sum of all elements. */
export function sum(t: Tensor): number {
  let s = 0;
  for (let i = 0; i < t.data.length; i++) s += t.data[i];
  return s;
}

/** Sum of `a * b` over all elements: the upstream-weighted loss used by gradient checks. */
export function dot(a: Tensor, b: Tensor): number {
  assertSameShape("dot", a, b);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

/** Value at a multi-index, e.g. `at(x, n, h, w, c)` for an NHWC tensor. */
export function at(t: Tensor, ...index: number[]): number {
  return t.data[offsetOf(t.shape, index)];
}

/** Flat offset of a multi-index in a row-major tensor of `shape`. */
export function offsetOf(shape: Shape, index: readonly number[]): number {
  if (index.length !== shape.length) {
    throw new ShapeError(
      `offsetOf: ${index.length} indices for a rank-${shape.length} tensor`,
      { expected: shape, actual: index },
    );
  }
  let off = 0;
  for (let i = 0; i < shape.length; i++) {
    if (!Number.isInteger(index[i]) || index[i] < 0 || index[i] >= shape[i]) {
      throw new RangeError(
        `offsetOf: index ${index[i]} is outside axis ${i} of length ${shape[i]}`,
      );
    }
    off = off * shape[i] + index[i];
  }
  return off;
}

/** Row-major index of flat `offset` in `shape`, e.g. `[n, h, w, c]`. */
export function indexOf(shape: Shape, offset: number): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = offset % shape[i];
    offset = Math.floor(offset / shape[i]);
  }
  return idx;
}

/** Throws a ShapeError naming both shapes unless `a` and `b` have the same shape. */
export function assertSameShape(where: string, a: Tensor, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(
      `${where}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`,
      { expected: a.shape, actual: b.shape },
    );
  }
}

/** Whether two shapes are equal axis by axis. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
