/**
 * Entry checks shared by the layers: tensors of the right kind and rank, upstream gradients of the
 * output's shape, and caches that come from the right forward pass.
 *
 * @module
 */
import { ShapeError } from "../errors.ts";
import { formatShape, sameShape, type Shape, sizeOf, type Tensor } from "../tensor.ts";

/** Every cache names the forward pass that made it, so a backward pass can refuse a foreign one. */
export interface LayerCache {
  readonly layer: string;
}

/**
 * Throws unless `cache` was made by the forward pass of `layer`.
 *
 * @example
 * ```ts
 * import { checkCache } from "convkit/layers/checks.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkCache("conv2dBackward", { layer: "maxPool2d" }, "conv2d"), /cache from maxPool2dForward/);
 * ```
 */
export function checkCache<C extends LayerCache>(
  where: string,
  cache: LayerCache | undefined,
  layer: C["layer"],
): C {
  if (cache === null || typeof cache !== "object" || typeof cache.layer !== "string") {
    throw new TypeError(
      `${where}: expected the cache returned by ${layer}Forward, got ${String(cache)}`,
    );
  }
  if (cache.layer !== layer) {
    throw new TypeError(
      `${where}: got a cache from ${cache.layer}Forward; pass the cache returned by ${layer}Forward`,
    );
  }
  return cache as C;
}

/** Throws unless `t` is a kit tensor (Float64Array data that fills its shape) of the given rank. */
export function checkTensor(
  where: string,
  name: string,
  t: Tensor,
  rank?: number,
  layout?: string,
): void {
  if (
    t === null || typeof t !== "object" || !(t.data instanceof Float64Array) ||
    !Array.isArray(t.shape)
  ) {
    throw new TypeError(
      `${where}: ${name} must be a tensor { data: Float64Array, shape } (see tensor())`,
    );
  }
  if (t.data.length !== sizeOf(t.shape)) {
    throw new ShapeError(
      `${where}: ${name} has ${t.data.length} values but shape ${formatShape(t.shape)} needs ${
        sizeOf(t.shape)
      }`,
      { expected: [sizeOf(t.shape)], actual: [t.data.length] },
    );
  }
  if (rank !== undefined && t.shape.length !== rank) {
    throw new ShapeError(
      `${where}: ${name} must have rank ${rank}${
        layout ? ` ${layout}` : ""
      }, got rank ${t.shape.length} [${t.shape.join(", ")}]`,
      { expected: [rank], actual: [t.shape.length] },
    );
  }
}

/** Throws unless `t` has exactly `shape`, naming both. */
export function checkShapeIs(where: string, name: string, t: Tensor, shape: Shape): void {
  checkTensor(where, name, t);
  if (!sameShape(t.shape, shape)) {
    throw new ShapeError(
      `${where}: ${name} must have shape ${formatShape(shape)}, got ${formatShape(t.shape)}`,
      { expected: shape, actual: t.shape },
    );
  }
}
