/**
 * The fully connected (affine) layer: every output neuron sees the whole input volume.
 *
 * x `[N, d1, ..., dk]` is flattened to `[N, D]` with `D = d1 * ... * dk` (row-major, so an NHWC volume
 * `[N, H, W, C]` becomes H*W*C numbers per image), w is `[D, M]`, b is `[M]`; out = x w + b is `[N, M]`.
 *
 * @module
 */
import { matmul, matmulTransA, matmulTransB } from "../matmul.ts";
import { ShapeError } from "../errors.ts";
import { formatShape, type Tensor } from "../tensor.ts";
import { checkCache, checkShapeIs, checkTensor } from "./checks.ts";

/** What `affineForward` keeps for the backward pass. */
export interface AffineCache {
  readonly layer: "affine";
  readonly x: Tensor;
  readonly w: Tensor;
  readonly n: number;
  readonly d: number;
  readonly m: number;
}

/**
 * Forward pass of a fully connected layer.
 *
 * @param x input `[N, ...]`, flattened to `[N, D]`
 * @param w weights `[D, M]`
 * @param b biases `[M]`
 * @returns out `[N, M]` and the cache for `affineBackward`
 * @throws {ShapeError} when D of x and w differ, or b is not `[M]`
 *
 * @example
 * ```ts
 * import { affineForward } from "convkit/layers/affine.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * // one image of 2x1x1: [1, 2] · [[1, 0, 1], [0, 1, 1]] + [0, 0, 10]
 * const { out } = affineForward(tensor([1, 2], [1, 2, 1, 1]), tensor([1, 0, 1, 0, 1, 1], [2, 3]), tensor([0, 0, 10], [3]));
 * assert.deepEqual([...out.data], [1, 2, 13]);
 * ```
 */
export function affineForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
): { out: Tensor; cache: AffineCache } {
  const where = "affineForward";
  checkTensor(where, "x", x);
  checkTensor(where, "w", w, 2, "[D, M]");
  if (x.shape.length < 1) {
    throw new ShapeError(`${where}: x needs a batch axis [N, ...]`, { expected: [2], actual: [0] });
  }
  const n = x.shape[0];
  const d = n === 0 ? 0 : x.data.length / n;
  const [dw, m] = w.shape;
  if (dw !== d) {
    throw new ShapeError(
      `${where}: x ${formatShape(x.shape)} flattens to ${n}x${d} but w ${
        formatShape(w.shape)
      } expects D = ${dw}`,
      { expected: [dw], actual: [d] },
    );
  }
  checkShapeIs(where, "b", b, [m]);
  const out = matmul(x.data, w.data, n, d, m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] += b.data[j];
  return { out: { data: out, shape: [n, m] }, cache: { layer: "affine", x, w, n, d, m } };
}

/**
 * Backward pass of a fully connected layer: `dx = dout wᵀ` (reshaped like x), `dw = xᵀ dout`, `db = Σₙ dout`.
 *
 * @param dout upstream gradient `[N, M]`
 * @param cache from `affineForward`
 * @returns dx with x's shape, dw `[D, M]`, db `[M]`
 */
export function affineBackward(
  dout: Tensor,
  cache: AffineCache,
): { dx: Tensor; dw: Tensor; db: Tensor } {
  const where = "affineBackward";
  const { x, w, n, d, m } = checkCache<AffineCache>(where, cache, "affine");
  checkShapeIs(where, "dout", dout, [n, m]);
  const dx = matmulTransB(dout.data, w.data, n, m, d);
  const dw = matmulTransA(x.data, dout.data, n, d, m);
  const db = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) db[j] += dout.data[i * m + j];
  return {
    dx: { data: dx, shape: [...x.shape] },
    dw: { data: dw, shape: [d, m] },
    db: { data: db, shape: [m] },
  };
}
