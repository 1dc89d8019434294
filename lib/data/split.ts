/**
 * A labelled set of images as the trainers take it, and the check every trainer and `evaluate` make on
 * entry. Free of tfjs, so that the teaching trainer loads none.
 *
 * @module
 */

/** A dataset split as bytes: NHWC images 0..255 and labels. */
export interface Split {
  images: Uint8Array;
  labels: ArrayLike<number>;
  n: number;
  /** `[H, W, C]`. */
  shape: readonly [number, number, number];
}

/**
 * Throws unless `split` holds `n >= 1` images of `shape` (`images.length === n * H * W * C`) and `n`
 * labels that are whole numbers in `0 .. classes - 1`.
 *
 * @throws {RangeError} naming the split, and the first bad label with its image
 * @example
 * ```ts
 * import { checkSplit } from "convkit/data/split.ts";
 * import assert from "node:assert/strict";
 * const split = { images: new Uint8Array(8), labels: [0, 1.5], n: 2, shape: [2, 2, 1] as const };
 * assert.throws(() => checkSplit("f", "train", split, 10), /f: train label 1\.5 of image 1 is not a class/);
 * ```
 */
export function checkSplit(where: string, name: string, split: Split, classes: number): void {
  if (!split || !Number.isInteger(split.n) || split.n < 1) {
    throw new RangeError(
      `${where}: the ${name} split is empty (n = ${split?.n}): nothing to learn from`,
    );
  }
  const [h, w, c] = split.shape;
  if (split.images.length !== split.n * h * w * c) {
    throw new RangeError(
      `${where}: the ${name} split has ${split.images.length} image bytes, expected n * H * W * C = ${split.n} * ${h} * ${w} * ${c}`,
    );
  }
  if (split.labels.length < split.n) {
    throw new RangeError(
      `${where}: the ${name} split has ${split.labels.length} labels for ${split.n} images`,
    );
  }
  for (let i = 0; i < split.n; i++) {
    const y = split.labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new RangeError(
        `${where}: ${name} label ${y} of image ${i} is not a class of the model (whole numbers 0 .. ${
          classes - 1
        })`,
      );
    }
  }
}
