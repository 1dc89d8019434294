/**
 * Weight initialization. The fan-in of filters `[F, F, C_in, K]` is F*F*C_in, of weights `[D, M]` it is D:
 * every axis but the last.
 *
 * @module
 */
import { randn, type Rng } from "./random.ts";
import type { Shape, Tensor } from "./tensor.ts";

/** Inputs feeding each output unit: the product of every axis but the last. */
export function fanIn(shape: Shape): number {
  if (shape.length < 2) {
    throw new RangeError(`fanIn: weights need at least 2 axes, got [${shape.join(", ")}]`);
  }
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/**
 * He (Kaiming) normal initialization for ReLU nets, as ResNet used: standard deviation sqrt(2 / fan_in).
 *
 * @example
 * ```ts
 * import { he } from "convkit/init.ts";
 * import { Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const w = he([3, 3, 64, 64], new Rng(0));
 * const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.data.length);
 * assert.ok(Math.abs(std - Math.sqrt(2 / 576)) < 0.002);
 * ```
 */
export function he(shape: Shape, rng: Rng): Tensor {
  return randn(shape, rng, Math.sqrt(2 / fanIn(shape)));
}

/** Xavier (Glorot) normal initialization, standard deviation sqrt(1 / fan_in), for tanh-like units. */
export function xavier(shape: Shape, rng: Rng): Tensor {
  return randn(shape, rng, Math.sqrt(1 / fanIn(shape)));
}
