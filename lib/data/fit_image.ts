/**
 * Fitting any image to a network's input: the centred crop of the input's aspect ratio, area-averaging
 * resize (each output pixel the mean of the source area it covers, as PIL's `BOX` filter and OpenCV's
 * `INTER_AREA` do when shrinking), grey when the net takes one channel, and then the normalization the
 * training used, by the same `makeBatch` the trainer calls.
 *
 * Images are kit tensors `[1, H, W, C]` with values 0..255 (as `loadImage` returns them).
 *
 * @module
 */
import { type ChannelStats, makeBatch } from "./batch.ts";
import type { Tensor } from "../tensor.ts";

function checkImage(where: string, img: Tensor): [number, number, number] {
  if (img.shape.length !== 4 || img.shape[0] !== 1 || img.shape[1] < 1 || img.shape[2] < 1) {
    throw new RangeError(
      `${where}: expected one image [1, H, W, C], got [${img.shape.join(", ")}]`,
    );
  }
  return [img.shape[1], img.shape[2], img.shape[3]];
}

/**
 * RGB `[1, H, W, 3]` to grey `[1, H, W, 1]`: `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601 luma, as
 * PIL's `convert("L")`). A grey image is returned as it is.
 *
 * @example
 * ```ts
 * import { toGrey } from "convkit/data/fit_image.ts";
 * import assert from "node:assert/strict";
 * const g = toGrey({ data: Float64Array.from([255, 0, 0, 100, 100, 100]), shape: [1, 1, 2, 3] });
 * assert.deepEqual(g.shape, [1, 1, 2, 1]);
 * assert.deepEqual([...g.data].map((v) => +v.toFixed(3)), [76.245, 100]);
 * ```
 */
export function toGrey(img: Tensor): Tensor {
  const [h, w, c] = checkImage("toGrey", img);
  if (c === 1) return img;
  if (c !== 3) throw new RangeError(`toGrey: expected 1 or 3 channels, got ${c}`);
  const out = new Float64Array(h * w);
  for (let p = 0; p < h * w; p++) {
    out[p] = 0.299 * img.data[p * 3] + 0.587 * img.data[p * 3 + 1] + 0.114 * img.data[p * 3 + 2];
  }
  return { data: out, shape: [1, h, w, 1] };
}

/**
 * The largest centred window of `img` with the aspect ratio `height : width`, as `[top, left, h, w]`:
 * `s = min(H / height, W / width)`, `h = round(height * s)`, `w = round(width * s)`,
 * `top = floor((H - h) / 2)`, `left = floor((W - w) / 2)`.
 *
 * @example
 * ```ts
 * import { centreCropBox } from "convkit/data/fit_image.ts";
 * import assert from "node:assert/strict";
 * // a 4x6 landscape image, cropped to a square: the middle 4x4
 * assert.deepEqual(centreCropBox(4, 6, 1, 1), [0, 1, 4, 4]);
 * ```
 */
export function centreCropBox(
  H: number,
  W: number,
  height: number,
  width: number,
): [top: number, left: number, h: number, w: number] {
  const s = Math.min(H / height, W / width);
  const h = Math.max(1, Math.min(H, Math.round(height * s))),
    w = Math.max(1, Math.min(W, Math.round(width * s)));
  return [Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w];
}

/** The window `[top, left, h, w]` of `img` as an image of its own. */
export function crop(img: Tensor, top: number, left: number, h: number, w: number): Tensor {
  const [H, W, c] = checkImage("crop", img);
  if (top < 0 || left < 0 || h < 1 || w < 1 || top + h > H || left + w > W) {
    throw new RangeError(`crop: window ${h}x${w} at (${top}, ${left}) is outside ${H}x${W}`);
  }
  const out = new Float64Array(h * w * c);
  for (let i = 0; i < h; i++) {
    out.set(
      img.data.subarray(((top + i) * W + left) * c, ((top + i) * W + left + w) * c),
      i * w * c,
    );
  }
  return { data: out, shape: [1, h, w, c] };
}

/** For each output index along one axis, the source indices it overlaps and their weights (summing to 1). */
function areaWeights(src: number, dst: number): { idx: number[]; wt: number[] }[] {
  const scale = src / dst;
  return Array.from({ length: dst }, (_, o) => {
    const a = o * scale, b = (o + 1) * scale;
    const idx: number[] = [], wt: number[] = [];
    for (let s = Math.floor(a); s < Math.min(src, Math.ceil(b)); s++) {
      const overlap = Math.min(b, s + 1) - Math.max(a, s);
      if (overlap > 1e-12) {
        idx.push(s);
        wt.push(overlap / scale);
      }
    }
    return { idx, wt };
  });
}

/**
 * Resizes `[1, H, W, C]` to `[1, height, width, C]` by area averaging: output pixel `(i, j)` covers the
 * source rectangle `[i * H / height, (i + 1) * H / height) x [j * W / width, (j + 1) * W / width)` and is
 * the mean of the source pixels over it, each weighted by the area it overlaps (PIL's `Image.BOX`).
 * Shrinking by a whole factor averages blocks; enlarging repeats pixels.
 *
 * @example
 * ```ts
 * import { resizeArea } from "convkit/data/fit_image.ts";
 * import assert from "node:assert/strict";
 * // 1x3 -> 1x2: pixel 0 covers [0, 1.5): (10 + 0.5 * 20) / 1.5; pixel 1 covers [1.5, 3): (0.5 * 20 + 40) / 1.5
 * const r = resizeArea({ data: Float64Array.from([10, 20, 40]), shape: [1, 1, 3, 1] }, 1, 2);
 * assert.deepEqual([...r.data].map((v) => +v.toFixed(6)), [13.333333, 33.333333]);
 * ```
 */
export function resizeArea(img: Tensor, height: number, width: number): Tensor {
  const [H, W, c] = checkImage("resizeArea", img);
  if (!(Number.isInteger(height) && height >= 1 && Number.isInteger(width) && width >= 1)) {
    throw new RangeError(`resizeArea: size must be whole numbers >= 1, got ${height}x${width}`);
  }
  const rows = areaWeights(H, height), cols = areaWeights(W, width);
  // separable: first along the width, then along the height
  const mid = new Float64Array(H * width * c);
  for (let y = 0; y < H; y++) {
    for (let j = 0; j < width; j++) {
      const { idx, wt } = cols[j];
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += wt[k] * img.data[(y * W + idx[k]) * c + ch];
        mid[(y * width + j) * c + ch] = s;
      }
    }
  }
  const out = new Float64Array(height * width * c);
  for (let i = 0; i < height; i++) {
    const { idx, wt } = rows[i];
    for (let j = 0; j < width; j++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += wt[k] * mid[(idx[k] * width + j) * c + ch];
        out[(i * width + j) * c + ch] = s;
      }
    }
  }
  return { data: out, shape: [1, height, width, c] };
}

/** How to fit an image to a network's input. */
export interface FitOptions {
  /** The net's input `[H, W, C]`, C 1 (grey) or 3. */
  shape: readonly [number, number, number];
  /**
   * A border of this many pixels of the background around the resized image (e.g. 6 for MNIST-style
   * digits: MNIST centres each digit in a 20x20 box of a 28x28 image, which LeNet-5 takes padded to 32).
   */
  margin?: number;
  /**
   * Replace v by 255 - v (e.g. a dark digit on white paper, for MNIST's white digits on black);
   * `"auto"`: when the image's outermost pixels are light on average (above 127.5), as paper is.
   */
  invert?: boolean | "auto";
  /**
   * Stretch the levels after inverting: the background (the mean of the outermost pixels) to 0 and the
   * brightest value to 255, as MNIST's digits are (a black background, strokes up to 255). A photo of
   * grey paper otherwise keeps a grey background the net never saw in training.
   */
  stretch?: boolean;
}

/** The mean of the outermost rows and columns of an image, all channels. */
function borderMean(img: Tensor): number {
  const [, h, w, c] = img.shape;
  let sum = 0, n = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      if (i > 0 && i < h - 1 && j > 0 && j < w - 1) continue;
      for (let ch = 0; ch < c; ch++) sum += img.data[(i * w + j) * c + ch];
      n += c;
    }
  }
  return sum / n;
}

/**
 * An image `[1, H, W, 1 or 3]` (0..255) as the net's input, still as bytes 0..255 `[1, h, w, c]`:
 * grey if the net takes one channel, the centred crop of the input's aspect ratio
 * (inside the margin), resized by area averaging, inverted and its levels stretched if asked, rounded to
 * bytes, and set in a border of `margin` black pixels.
 *
 * @example
 * ```ts
 * import { fitImage } from "convkit/data/fit_image.ts";
 * import assert from "node:assert/strict";
 * // a 2x4 image, to a 1x1 grey input: the centred 2x2 crop (columns 1, 2), averaged
 * const img = { data: Float64Array.from([0, 10, 30, 0, 0, 50, 70, 0]), shape: [1, 2, 4, 1] };
 * assert.deepEqual([...fitImage(img, { shape: [1, 1, 1] })], [40]);
 * ```
 */
export function fitImage(img: Tensor, opts: FitOptions): Uint8Array {
  const [H, W] = checkImage("fitImage", img);
  const [h, w, c] = opts.shape;
  const m = opts.margin ?? 0;
  if (c !== 1 && c !== 3) {
    throw new RangeError(`fitImage: the input needs 1 or 3 channels, got ${c}`);
  }
  if (!(Number.isInteger(m) && m >= 0 && 2 * m < h && 2 * m < w)) {
    throw new RangeError(`fitImage: margin ${opts.margin} leaves no room in ${h}x${w}`);
  }
  let x = c === 1 ? toGrey(img) : img;
  if (img.shape[3] === 1 && c === 3) {
    const d = new Float64Array(H * W * 3);
    for (let p = 0; p < H * W; p++) d.fill(img.data[p], p * 3, p * 3 + 3);
    x = { data: d, shape: [1, H, W, 3] };
  }
  const ih = h - 2 * m, iw = w - 2 * m;
  x = resizeArea(crop(x, ...centreCropBox(H, W, ih, iw)), ih, iw);
  const invert = opts.invert === "auto" ? borderMean(x) > 127.5 : opts.invert ?? false;
  if (invert) x = { data: x.data.map((v) => 255 - v), shape: x.shape };
  let [low, span] = [0, 255];
  if (opts.stretch) {
    const high = x.data.reduce((a, v) => Math.max(a, v), -Infinity);
    low = Math.min(borderMean(x), high);
    span = high > low ? high - low : 255;
  }
  const out = new Uint8Array(h * w * c);
  for (let i = 0; i < ih; i++) {
    for (let j = 0; j < iw; j++) {
      for (let ch = 0; ch < c; ch++) {
        const v = (x.data[(i * iw + j) * c + ch] - low) * 255 / span;
        out[((i + m) * w + j + m) * c + ch] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

/**
 * An image fitted (`fitImage`) and normalized exactly as training normalized its batches (`makeBatch`
 * with the training set's `stats`, or scaled to [0, 1] without them): float32 `[1, H, W, C]` data, ready
 * for `tf.tensor4d(x, [1, ...shape])`. Also returns the fitted bytes, to show what the net sees.
 */
export function imageToInput(
  img: Tensor,
  opts: FitOptions & { stats?: ChannelStats },
): { input: Float32Array; bytes: Uint8Array } {
  const bytes = fitImage(img, opts);
  const input = makeBatch(bytes, [0], { shape: opts.shape, stats: opts.stats, float32: true });
  return { input: input as Float32Array, bytes };
}
