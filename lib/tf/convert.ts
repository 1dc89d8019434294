/**
 * Moving tensors between the kit (`Float64Array` + shape) and TensorFlow.js (float32).
 *
 * @module
 */
import { type Tensor } from "../tensor.ts";
import { tf } from "./backend.ts";

/**
 * A kit tensor as a tfjs float32 tensor (same shape, same row-major order; NHWC is tfjs's layout too).
 *
 * @example
 * ```ts
 * import { fromTf, toTf } from "convkit/tf/convert.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const t = toTf(tensor([1, 2, 3, 4], [1, 2, 2, 1]));
 * assert.deepEqual(t.shape, [1, 2, 2, 1]);
 * assert.deepEqual([...(await fromTf(t)).data], [1, 2, 3, 4]);
 * ```
 */
export function toTf(t: Tensor): tf.Tensor {
  return tf.tensor(Float32Array.from(t.data), [...t.shape], "float32");
}

/** A tfjs tensor as a kit tensor (float64 copy); async, since webgpu allows only async reads. */
export async function fromTf(t: tf.Tensor): Promise<Tensor> {
  const data = await t.data();
  return { data: Float64Array.from(data as Float32Array), shape: [...t.shape] };
}
