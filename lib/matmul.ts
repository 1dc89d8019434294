/**
 * Row-major matrix products on flat `Float64Array`s, in the loop orders that walk memory in order.
 * The im2col conv and the affine layer are built on these three.
 *
 * @module
 */

/**
 * `C = A B` for A `[m, k]` and B `[k, n]`, giving C `[m, n]` (loop order i, p, j: rows of B streamed).
 *
 * @example
 * ```ts
 * import { matmul } from "convkit/matmul.ts";
 * import assert from "node:assert/strict";
 * const c = matmul(new Float64Array([1, 2, 3, 4]), new Float64Array([5, 6, 7, 8]), 2, 2, 2);
 * assert.deepEqual([...c], [19, 22, 43, 50]);
 * ```
 */
export function matmul(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
    }
  }
  return c;
}

/**
 * `C = Aᵀ B` for A `[m, k]` and B `[m, n]`, giving C `[k, n]`: the weight gradient `colsᵀ dout`.
 *
 * @example
 * ```ts
 * import { matmulTransA } from "convkit/matmul.ts";
 * import assert from "node:assert/strict";
 * // A = [[1, 2], [3, 4]], Aᵀ = [[1, 3], [2, 4]]
 * const c = matmulTransA(new Float64Array([1, 2, 3, 4]), new Float64Array([5, 6, 7, 8]), 2, 2, 2);
 * assert.deepEqual([...c], [26, 30, 38, 44]);
 * ```
 */
export function matmulTransA(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const c = new Float64Array(k * n);
  for (let i = 0; i < m; i++) {
    const bi = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      const cp = p * n;
      for (let j = 0; j < n; j++) c[cp + j] += av * b[bi + j];
    }
  }
  return c;
}

/**
 * `C = A Bᵀ` for A `[m, n]` and B `[k, n]`, giving C `[m, k]`: the input gradient `dout Wᵀ`.
 *
 * @example
 * ```ts
 * import { matmulTransB } from "convkit/matmul.ts";
 * import assert from "node:assert/strict";
 * // B = [[5, 6], [7, 8]], Bᵀ = [[5, 7], [6, 8]]
 * const c = matmulTransB(new Float64Array([1, 2, 3, 4]), new Float64Array([5, 6, 7, 8]), 2, 2, 2);
 * assert.deepEqual([...c], [17, 23, 39, 53]);
 * ```
 */
export function matmulTransB(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
): Float64Array {
  const c = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    const ai = i * n;
    for (let p = 0; p < k; p++) {
      const bp = p * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += a[ai + j] * b[bp + j];
      c[i * k + p] = s;
    }
  }
  return c;
}
