/**
 * ReLU, `max(0, x)` element-wise, for any shape.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { checkCache, checkShapeIs, checkTensor } from "./checks.ts";

/** What `reluForward` keeps: the input. */
export interface ReluCache {
  readonly layer: "relu";
  readonly x: Tensor;
}

/**
 * ReLU forward: `out = max(0, x)`.
 *
 * @example
 * ```ts
 * import { reluForward } from "convkit/layers/relu.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...reluForward(tensor([-2, 0, 3], [3])).out.data], [0, 0, 3]);
 * const nan = { data: Float64Array.from([NaN]), shape: [1] }; // tensor() refuses NaN
 * assert.ok(Number.isNaN(reluForward(nan).out.data[0]));
 * ```
 */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  checkTensor("reluForward", "x", x);
  const out = new Float64Array(x.data.length);
  // NaN stays NaN, as in PyTorch: a NaN must not disappear into a 0
  for (let i = 0; i < out.length; i++) out[i] = x.data[i] <= 0 ? 0 : x.data[i];
  return { out: { data: out, shape: [...x.shape] }, cache: { layer: "relu", x } };
}

/**
 * ReLU backward: the gradient stops where x <= 0 (at 0 too) and passes elsewhere, NaN included (as
 * PyTorch's threshold backward does).
 *
 * @example
 * ```ts
 * import { reluBackward, reluForward } from "convkit/layers/relu.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const { cache } = reluForward(tensor([-2, 0, 3], [3]));
 * assert.deepEqual([...reluBackward(tensor([1, 1, 1], [3]), cache).dx.data], [0, 0, 1]);
 * ```
 */
export function reluBackward(dout: Tensor, cache: ReluCache): { dx: Tensor } {
  const { x } = checkCache<ReluCache>("reluBackward", cache, "relu");
  checkShapeIs("reluBackward", "dout", dout, x.shape);
  const dx = new Float64Array(x.data.length);
  for (let i = 0; i < dx.length; i++) dx[i] = x.data[i] <= 0 ? 0 : dout.data[i];
  return { dx: { data: dx, shape: [...x.shape] } };
}
