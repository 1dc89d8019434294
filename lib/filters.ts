/**
 * Hand-made filters that look like what first conv layers learn: oriented edges (Gabor filters) in
 * grey and in colour-opponent pairs, and colour blobs. Useful to show meaningful activation maps before
 * any training.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";

/**
 * A bank of `count` F x F x 3 filters `[F, F, 3, count]`: Gabor filters at `count / 4` orientations in grey
 * (luminance edges), red-green and blue-yellow, plus centre-surround colour blobs. Each filter has zero
 * mean, so flat regions give zero response.
 *
 * @example
 * ```ts
 * import { orientedFilters } from "convkit/filters.ts";
 * import assert from "node:assert/strict";
 * const w = orientedFilters(32, 5);
 * assert.deepEqual(w.shape, [5, 5, 3, 32]);
 * ```
 */
export function orientedFilters(count: number, f: number): Tensor {
  if (!Number.isInteger(count) || count < 4) {
    throw new RangeError(`orientedFilters: count must be >= 4, got ${count}`);
  }
  const data = new Float64Array(f * f * 3 * count);
  const c = (f - 1) / 2, sigma = f / 3, lambda = f / 1.2;
  const colours: [number, number, number][] = [[1, 1, 1], [1, -1, 0], [0.5, 0.5, -1]];
  const edges = Math.floor((count * 3) / 4);
  const orientations = Math.ceil(edges / colours.length);
  for (let k = 0; k < count; k++) {
    const values = new Float64Array(f * f * 3);
    if (k < edges) {
      const theta = (Math.PI * (k % orientations)) / orientations;
      const col = colours[Math.floor(k / orientations) % colours.length];
      for (let i = 0; i < f; i++) {
        for (let j = 0; j < f; j++) {
          const x = (j - c) * Math.cos(theta) + (i - c) * Math.sin(theta);
          const y = -(j - c) * Math.sin(theta) + (i - c) * Math.cos(theta);
          const g = Math.exp(-(x * x + y * y) / (2 * sigma * sigma)) *
            Math.sin((2 * Math.PI * x) / lambda);
          for (let ch = 0; ch < 3; ch++) values[(i * f + j) * 3 + ch] = g * col[ch];
        }
      }
    } else {
      const col = [[1, -0.5, -0.5], [-0.5, 1, -0.5], [-0.5, -0.5, 1], [1, 1, -1]][(k - edges) % 4];
      for (let i = 0; i < f; i++) {
        for (let j = 0; j < f; j++) {
          const r2 = (i - c) ** 2 + (j - c) ** 2;
          const g = Math.exp(-r2 / (2 * (sigma / 1.5) ** 2)) -
            0.5 * Math.exp(-r2 / (2 * sigma * sigma));
          for (let ch = 0; ch < 3; ch++) values[(i * f + j) * 3 + ch] = g * col[ch];
        }
      }
    }
    let mean = 0, norm = 0;
    for (const v of values) mean += v / values.length;
    for (let i = 0; i < values.length; i++) norm += (values[i] - mean) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < values.length; i++) data[i * count + k] = (values[i] - mean) / norm;
  }
  return { data, shape: [f, f, 3, count] };
}
