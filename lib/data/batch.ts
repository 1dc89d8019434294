/**
 * From image bytes to training batches: seeded shuffling, per-channel normalization, and AlexNet-style
 * augmentation (random crops from a zero-padded image, horizontal flips), converting to floats one batch
 * at a time so that a whole dataset stays in memory as bytes.
 *
 * Images are NHWC bytes `[n, H, W, C]`, values 0..255.
 *
 * @module
 */
import type { Rng } from "../random.ts";

/** Per-channel mean and standard deviation, in the 0..255 scale of the bytes. */
export interface ChannelStats {
  mean: number[];
  std: number[];
}

/**
 * Mean and (population) standard deviation of each channel over all pixels of all images.
 *
 * @example
 * ```ts
 * import { channelStats } from "convkit/data/batch.ts";
 * import assert from "node:assert/strict";
 * // two 1x1 RGB images: (0, 10, 20) and (100, 10, 40)
 * const s = channelStats(new Uint8Array([0, 10, 20, 100, 10, 40]), 3);
 * assert.deepEqual(s.mean, [50, 10, 30]);
 * assert.deepEqual(s.std, [50, 0, 10]);
 * ```
 */
export function channelStats(images: Uint8Array, channels: number): ChannelStats {
  const sum = new Float64Array(channels), sq = new Float64Array(channels);
  const count = images.length / channels;
  for (let i = 0; i < images.length; i++) {
    const v = images[i], c = i % channels;
    sum[c] += v;
    sq[c] += v * v;
  }
  const mean = [...sum].map((s) => s / count);
  return { mean, std: [...sq].map((s, c) => Math.sqrt(Math.max(0, s / count - mean[c] ** 2))) };
}

/** Options of `makeBatch`. */
export interface BatchOptions {
  /** Image size `[H, W, C]`. */
  shape: readonly [number, number, number];
  /** Subtract the mean and divide by the standard deviation of each channel; else scale to [0, 1]. */
  stats?: ChannelStats;
  /** Random crops of H x W from the image padded by this many zeros on each side (e.g. 4 for CIFAR-10). */
  cropPad?: number;
  /** Flip each image left-right with probability 1/2. */
  flip?: boolean;
  /** Draws the crops and flips; required when augmenting. */
  rng?: Rng;
  /** Output type: Float64Array for the teaching layers (default), Float32Array for tfjs. */
  float32?: boolean;
}

/**
 * The images at `indices` as one float batch `[indices.length, H, W, C]`, normalized and augmented.
 *
 * @example
 * ```ts
 * import { makeBatch } from "convkit/data/batch.ts";
 * import assert from "node:assert/strict";
 * // one 1x2 grey image: 0, 255; flipped: 255, 0 (the generator below always flips)
 * const always = { uniform: () => 0, int: () => 0 } as never;
 * const b = makeBatch(new Uint8Array([0, 255]), [0], { shape: [1, 2, 1], flip: true, rng: always });
 * assert.deepEqual([...b], [1, 0]);
 * ```
 */
export function makeBatch(
  images: Uint8Array,
  indices: ArrayLike<number>,
  opts: BatchOptions,
): Float64Array | Float32Array {
  const [h, w, c] = opts.shape;
  const per = h * w * c;
  if ((opts.cropPad || opts.flip) && !opts.rng) {
    throw new TypeError("makeBatch: augmentation needs a seeded rng");
  }
  const out = opts.float32
    ? new Float32Array(indices.length * per)
    : new Float64Array(indices.length * per);
  const pad = opts.cropPad ?? 0;
  const scale = opts.stats ? opts.stats.std.map((s) => 1 / (s || 1)) : new Array(c).fill(1 / 255);
  const shift = opts.stats ? opts.stats.mean : new Array(c).fill(0);
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k] * per;
    if (!(indices[k] >= 0 && src + per <= images.length)) {
      throw new RangeError(
        `makeBatch: image ${indices[k]} is outside the ${images.length / per} images`,
      );
    }
    const dy = pad ? opts.rng!.int(2 * pad + 1) - pad : 0,
      dx = pad ? opts.rng!.int(2 * pad + 1) - pad : 0;
    const flip = opts.flip ? opts.rng!.uniform() < 0.5 : false;
    for (let i = 0; i < h; i++) {
      const si = i + dy;
      for (let j = 0; j < w; j++) {
        const sj = (flip ? w - 1 - j : j) + dx;
        const o = k * per + (i * w + j) * c;
        if (si < 0 || si >= h || sj < 0 || sj >= w) {
          // the zero padding around the image, normalized like a black pixel
          for (let ch = 0; ch < c; ch++) out[o + ch] = (0 - shift[ch]) * scale[ch];
        } else {
          const s = src + (si * w + sj) * c;
          for (let ch = 0; ch < c; ch++) out[o + ch] = (images[s + ch] - shift[ch]) * scale[ch];
        }
      }
    }
  }
  return out;
}

/**
 * The indices 0 .. n-1 in a seeded random order, cut into batches of `size` (the last may be smaller,
 * unless `dropLast`).
 *
 * @example
 * ```ts
 * import { batches } from "convkit/data/batch.ts";
 * import { Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const b = batches(10, 4, new Rng(1));
 * assert.deepEqual(b.map((x) => x.length), [4, 4, 2]);
 * assert.deepEqual([...b.flatMap((x) => [...x])].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * ```
 */
export function batches(
  n: number,
  size: number,
  rng: Rng,
  opts: { dropLast?: boolean } = {},
): Int32Array[] {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`batches: size must be a whole number >= 1, got ${size}`);
  }
  const order = rng.permutation(n);
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i += size) {
    if (opts.dropLast && i + size > n) break;
    out.push(order.subarray(i, Math.min(n, i + size)));
  }
  return out;
}
