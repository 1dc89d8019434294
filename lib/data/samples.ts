/**
 * Small images drawn by code, embedded in the kit so that notebooks run with no data at all: each
 * 32x32x3 with values in [0, 1], chosen so that edge and colour filters respond visibly.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";

/** Names of the sample images, in order. */
export const SAMPLE_NAMES = ["stripes", "checkers", "disk", "diagonal", "rings", "blocks"] as const;

function paint(f: (i: number, j: number) => [number, number, number]): Float64Array {
  const d = new Float64Array(32 * 32 * 3);
  for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) d.set(f(i, j), (i * 32 + j) * 3);
  return d;
}

/**
 * The sample images as `[6, 32, 32, 3]`, values in [0, 1].
 *
 * @example
 * ```ts
 * import { SAMPLE_NAMES, sampleImages } from "convkit/data/samples.ts";
 * import assert from "node:assert/strict";
 * const x = sampleImages();
 * assert.deepEqual(x.shape, [SAMPLE_NAMES.length, 32, 32, 3]);
 * ```
 */
export function sampleImages(): Tensor {
  const imgs = [
    paint((_i, j) => (Math.floor(j / 4) % 2 ? [0.9, 0.9, 0.2] : [0.1, 0.1, 0.6])),
    paint((i, j) => ((Math.floor(i / 8) + Math.floor(j / 8)) % 2 ? [1, 1, 1] : [0, 0, 0])),
    paint((i, j) => ((i - 15.5) ** 2 + (j - 15.5) ** 2 < 100 ? [0.9, 0.2, 0.2] : [0.2, 0.6, 0.3])),
    paint((i, j) => (i > j ? [0.2, 0.3, 0.9] : [0.95, 0.95, 0.95])),
    paint((i, j) => {
      const r = Math.sqrt((i - 15.5) ** 2 + (j - 15.5) ** 2);
      const v = 0.5 + 0.5 * Math.cos(r / 1.5);
      return [v, 0.5 * v, 1 - v];
    }),
    paint((i, j) => (i < 16 ? (j < 16 ? [1, 0, 0] : [0, 1, 0]) : (j < 16 ? [0, 0, 1] : [1, 1, 0]))),
  ];
  const data = new Float64Array(imgs.length * 3072);
  imgs.forEach((d, k) => data.set(d, k * 3072));
  return { data, shape: [imgs.length, 32, 32, 3] };
}
