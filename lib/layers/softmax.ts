/**
 * Softmax classifier: class probabilities from scores, and the cross-entropy loss with its gradient.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { checkTensor } from "./checks.ts";

/**
 * Softmax of each row of scores `[N, C]`: `p_ij = exp(s_ij) / Σ_k exp(s_ik)` (computed after subtracting
 * each row's maximum, which leaves it unchanged and keeps exp from overflowing).
 *
 * @example
 * ```ts
 * import { softmax } from "convkit/layers/softmax.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const p = softmax(tensor([0, Math.log(3)], [1, 2]));
 * assert.ok(Math.abs(p.data[0] - 0.25) < 1e-15 && Math.abs(p.data[1] - 0.75) < 1e-15);
 * ```
 */
export function softmax(scores: Tensor): Tensor {
  checkTensor("softmax", "scores", scores, 2, "[N, C]");
  const [n, c] = scores.shape;
  const p = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, scores.data[i * c + j]);
    let z = 0;
    for (let j = 0; j < c; j++) z += p[i * c + j] = Math.exp(scores.data[i * c + j] - max);
    for (let j = 0; j < c; j++) p[i * c + j] /= z;
  }
  return { data: p, shape: [n, c] };
}

/**
 * Softmax cross-entropy loss, averaged over the N examples, and its gradient.
 *
 * `loss = -(1/N) Σᵢ log p(yᵢ | sᵢ)`; `dscores = (p - onehot(y)) / N`.
 *
 * @param scores class scores `[N, C]`
 * @param y labels, N whole numbers in 0 .. C-1
 * @returns loss (a number) and dscores `[N, C]`
 * @throws {RangeError} on a label outside 0 .. C-1, or N labels that do not match the scores
 *
 * @example
 * ```ts
 * import { softmaxLoss } from "convkit/layers/softmax.ts";
 * import { zeros } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // equal scores over 10 classes: the loss is ln(10)
 * const { loss } = softmaxLoss(zeros([4, 10]), [0, 3, 9, 5]);
 * assert.ok(Math.abs(loss - Math.log(10)) < 1e-15);
 * assert.throws(() => softmaxLoss(zeros([1, 10]), [10]), /label 10 .* outside 0 \.\. 9/);
 * ```
 */
export function softmaxLoss(
  scores: Tensor,
  y: ArrayLike<number>,
): { loss: number; dscores: Tensor } {
  const where = "softmaxLoss";
  checkTensor(where, "scores", scores, 2, "[N, C]");
  const [n, c] = scores.shape;
  if (n === 0) {
    throw new RangeError(
      `${where}: the mean loss of 0 examples is undefined; pass at least one row`,
    );
  }
  if (y === null || typeof y !== "object" || y.length !== n) {
    throw new RangeError(`${where}: ${n} rows of scores need ${n} labels, got ${y?.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= c) {
      throw new RangeError(`${where}: label ${y[i]} of example ${i} is outside 0 .. ${c - 1}`);
    }
  }
  const p = softmax(scores);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    // log p from the shifted scores, which stays finite where p underflows to 0
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, scores.data[i * c + j]);
    let z = 0;
    for (let j = 0; j < c; j++) z += Math.exp(scores.data[i * c + j] - max);
    loss -= scores.data[i * c + y[i]] - max - Math.log(z);
  }
  const d = p.data;
  for (let i = 0; i < n; i++) d[i * c + y[i]] -= 1;
  for (let i = 0; i < d.length; i++) d[i] /= n;
  return { loss: loss / n, dscores: { data: d, shape: [n, c] } };
}
