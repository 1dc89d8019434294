/**
 * Figures made of pixel images: grids of filters (first-layer RGB filters as colour patches, deeper
 * filters channel by channel), the activation maps of one image, and labelled images.
 *
 * @module
 */
import { checkTensor } from "../layers/checks.ts";
import type { Tensor } from "../tensor.ts";
import { Figure } from "./figure.ts";
import { encodePng, toBase64 } from "./png.ts";
import { svgToPng } from "./render.ts";

/** One image of a grid: RGBA pixels and an optional caption. */
export interface ImageTile {
  rgba: Uint8Array;
  width: number;
  height: number;
  label?: string;
}

/**
 * A tile from `h x w x c` values (c = 1 grey, c = 3 RGB), mapped linearly from [min, max] to [0, 255].
 * Without a range, the tile's own minimum and maximum are used (as CS231n shows filters).
 *
 * @throws {RangeError} for a NaN or an infinity (a figure would hide it), too few values, or C not 1 or 3
 */
export function tile(
  data: ArrayLike<number>,
  h: number,
  w: number,
  c: 1 | 3,
  range?: { min: number; max: number },
  label?: string,
): ImageTile {
  if (!(c === 1 || c === 3) || !Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new RangeError(
      `tile: a tile is H x W x C with C 1 or 3 and H, W >= 1, got ${h}x${w}x${c}`,
    );
  }
  if (data.length < h * w * c) {
    throw new RangeError(`tile: ${data.length} values for a ${h}x${w}x${c} tile (${h * w * c})`);
  }
  for (let i = 0; i < h * w * c; i++) {
    // a figure must not hide a NaN as a black pixel: say where it is
    if (!Number.isFinite(data[i])) {
      throw new RangeError(
        `tile: value ${i} is ${data[i]}: it cannot be drawn (find where it came from)`,
      );
    }
  }
  let min = range?.min ?? Infinity, max = range?.max ?? -Infinity;
  if (!range) {
    for (let i = 0; i < h * w * c; i++) {
      min = Math.min(min, data[i]);
      max = Math.max(max, data[i]);
    }
  }
  const span = max > min ? max - min : 1;
  const rgba = new Uint8Array(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = data[p * c + (c === 3 ? k : 0)];
      rgba[p * 4 + k] = Math.round(255 * Math.min(1, Math.max(0, (v - min) / span)));
    }
    rgba[p * 4 + 3] = 255;
  }
  return { rgba, width: w, height: h, label };
}

/** A tile's RGBA pixels enlarged `s` times (each pixel an `s x s` block: no smoothing). */
export function upscale(t: ImageTile, s: number): Uint8Array {
  const out = new Uint8Array(t.width * s * t.height * s * 4);
  for (let y = 0; y < t.height * s; y++) {
    for (let x = 0; x < t.width * s; x++) {
      const src = (Math.floor(y / s) * t.width + Math.floor(x / s)) * 4;
      out.set(t.rgba.subarray(src, src + 4), (y * t.width * s + x) * 4);
    }
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Options of an image grid. */
export interface GridOptions {
  title?: string;
  /** Tiles per row (default: about square). */
  cols?: number;
  /** Pixel size of one image pixel (default: tiles about 64 px wide). */
  scale?: number;
}

/**
 * A grid of tiles with captions, as one figure (PNG).
 *
 * @example
 * ```ts
 * import { imageGrid, tile } from "convkit/plot/images.ts";
 * import assert from "node:assert/strict";
 * const fig = await imageGrid([tile([0, 1, 1, 0], 2, 2, 1, undefined, "a"), tile([1, 0, 0, 1], 2, 2, 1)], { cols: 2, scale: 10 });
 * assert.ok(fig.size.width >= 40);
 * ```
 */
export async function imageGrid(
  tiles: readonly ImageTile[],
  opts: GridOptions = {},
): Promise<Figure> {
  if (tiles.length === 0) throw new RangeError("imageGrid: no images to show");
  const tw = Math.max(...tiles.map((t) => t.width)), th = Math.max(...tiles.map((t) => t.height));
  const scale = opts.scale ?? Math.max(1, Math.round(64 / Math.max(tw, th)));
  const cols = opts.cols ?? Math.ceil(Math.sqrt(tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const hasLabels = tiles.some((t) => t.label);
  const gap = 6, labelH = hasLabels ? 16 : 0, titleH = opts.title ? 26 : 0;
  // wide enough for the longest caption (about 6 px a character at font size 10)
  const labelW = Math.max(0, ...tiles.map((t) => (t.label?.length ?? 0) * 6));
  const cellW = Math.max(tw * scale, labelW, hasLabels ? 40 : 0) + gap,
    cellH = th * scale + labelH + gap;
  // wide enough for the title too (about 8 px a character at 14 bold): a title is never clipped
  const titleW = opts.title ? opts.title.length * 8 + 2 * gap : 0;
  const gridW = cols * cellW + gap, width = Math.max(gridW, titleW);
  const height = titleH + rows * cellH + gap;
  const left = (width - gridW) / 2;
  const parts: string[] = [];
  if (opts.title) {
    parts.push(
      `<text x="${width / 2}" y="18" font-size="14" font-weight="bold" text-anchor="middle">${
        esc(opts.title)
      }</text>`,
    );
  }
  for (let i = 0; i < tiles.length; i++) {
    const t = tiles[i];
    const x = left + gap + (i % cols) * cellW + (cellW - gap - t.width * scale) / 2;
    const y = titleH + gap + Math.floor(i / cols) * cellH;
    const png = await encodePng(upscale(t, scale), t.width * scale, t.height * scale);
    parts.push(
      `<image x="${x}" y="${y}" width="${t.width * scale}" height="${
        t.height * scale
      }" href="data:image/png;base64,${toBase64(png)}"/>`,
    );
    if (t.label) {
      parts.push(
        `<text x="${x + (t.width * scale) / 2}" y="${
          y + t.height * scale + 12
        }" font-size="10" text-anchor="middle">${esc(t.label)}</text>`,
      );
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${
    parts.join("")
  }</svg>`;
  return new Figure({ title: opts.title ?? `${tiles.length} images`, png: await svgToPng(svg) });
}

/**
 * Filters `[F, F, C, K]` as images. With C = 3 each filter is one colour patch (scaled to its own
 * minimum and maximum, as the lecture shows AlexNet's first layer); with C = 1 one grey tile per filter,
 * in a grid; otherwise each row is one filter and each column one input channel (at most
 * `maxChannels`), in grey.
 *
 * @see ../../notebooks/06_neuron_view.ipynb
 */
export async function filterGrid(
  w: Tensor,
  opts: GridOptions & { maxChannels?: number } = {},
): Promise<Figure> {
  checkTensor("filterGrid", "w", w, 4, "[F, F, C_in, K]");
  const [fh, fw, c, k] = w.shape;
  const title = opts.title ?? `${k} filters of ${fh}x${fw}x${c}`;
  const pick = (f: number, chans: number[]) => {
    const d = new Float64Array(fh * fw * chans.length);
    for (let i = 0; i < fh * fw; i++) {
      chans.forEach((ch, j) => d[i * chans.length + j] = w.data[(i * c + ch) * k + f]);
    }
    return d;
  };
  if (c === 3) {
    const tiles = Array.from(
      { length: k },
      (_, f) => tile(pick(f, [0, 1, 2]), fh, fw, 3, undefined, `${f}`),
    );
    return await imageGrid(tiles, { ...opts, title });
  }
  if (c === 1) {
    // one channel: each filter a grey tile, laid out as a grid (not one long column)
    const tiles = Array.from(
      { length: k },
      (_, f) => tile(pick(f, [0]), fh, fw, 1, undefined, `${f}`),
    );
    return await imageGrid(tiles, {
      cols: Math.min(k, Math.ceil(Math.sqrt(k * 1.5))),
      ...opts,
      title,
    });
  }
  const shown = Math.min(c, opts.maxChannels ?? 8);
  const tiles: ImageTile[] = [];
  for (let f = 0; f < k; f++) {
    for (let ch = 0; ch < shown; ch++) {
      tiles.push(tile(pick(f, [ch]), fh, fw, 1, undefined, `f${f} c${ch}`));
    }
  }
  return await imageGrid(tiles, {
    ...opts,
    title: shown < c ? `${title} (first ${shown} channels)` : title,
    cols: shown,
  });
}

/**
 * The tiles of `activationMaps`: one grey `ImageTile` per channel of image `index` of `x`
 * `[N, H, W, K]`, captioned with its channel number; each scaled to its own range, or with
 * `sharedScale` all to one (the minimum and maximum over the image's maps).
 *
 * @throws {RangeError} for an index outside the batch, or a value that is not finite
 * @example
 * ```ts
 * import { activationTiles } from "convkit/plot/images.ts";
 * import assert from "node:assert/strict";
 * // map 0 spans 0..1, map 1 is 1e-7 of noise: shared, map 1 stays black
 * const x = { data: new Float64Array([0, 0, 1, 1e-7]), shape: [1, 1, 2, 2] };
 * assert.equal(activationTiles(x, { sharedScale: true })[1].rgba[4], 0);
 * assert.equal(activationTiles(x)[1].rgba[4], 255);
 * ```
 */
export function activationTiles(
  x: Tensor,
  opts: { index?: number; sharedScale?: boolean } = {},
): ImageTile[] {
  checkTensor("activationMaps", "x", x, 4, "[N, H, W, C]");
  const [n, h, w, k] = x.shape;
  const index = opts.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new RangeError(`activationMaps: index ${index} is outside the batch of ${n}`);
  }
  const image = x.data.subarray(index * h * w * k, (index + 1) * h * w * k);
  let range: { min: number; max: number } | undefined;
  if (opts.sharedScale) {
    range = { min: Infinity, max: -Infinity };
    for (const v of image) {
      range.min = Math.min(range.min, v);
      range.max = Math.max(range.max, v);
    }
  }
  return Array.from({ length: k }, (_, ch) => {
    const d = new Float64Array(h * w);
    for (let p = 0; p < h * w; p++) d[p] = image[p * k + ch];
    return tile(d, h, w, 1, range, `${ch}`);
  });
}

/**
 * The activation maps of one image: one grey tile per channel of `x` `[N, H, W, K]` (white = most
 * active). Each map is scaled to its own range by default, which shows the pattern of a weak map too,
 * but also blows float32 rounding noise (~1e-7) up to full contrast; with `sharedScale` every map uses
 * one range (the minimum and maximum over all of them), so maps can be compared and a map that barely
 * answers stays dark.
 *
 * @param index which image of the batch (default 0)
 * @throws {RangeError} for an index outside the batch, or a value that is not finite
 * @see ../../notebooks/06_neuron_view.ipynb
 */
export async function activationMaps(
  x: Tensor,
  opts: GridOptions & { index?: number; sharedScale?: boolean } = {},
): Promise<Figure> {
  const tiles = activationTiles(x, opts);
  const [, h, w, k] = x.shape;
  return await imageGrid(tiles, {
    ...opts,
    title: opts.title ?? `${k} activation maps of ${h}x${w}`,
  });
}

/**
 * Images `[N, H, W, 3]` (or 1 channel) with captions, e.g. dataset samples with their labels.
 * Values are taken as [0, 1], or [0, 255] when any exceeds 1.
 */
export async function showImages(
  x: Tensor,
  labels?: readonly string[],
  opts: GridOptions = {},
): Promise<Figure> {
  checkTensor("showImages", "x", x, 4, "[N, H, W, C]");
  const [n, h, w, c] = x.shape;
  if (c !== 1 && c !== 3) throw new RangeError(`showImages: images need 1 or 3 channels, got ${c}`);
  let max = 0;
  for (const v of x.data) max = Math.max(max, v);
  const range = { min: 0, max: max > 1 ? 255 : 1 };
  const per = h * w * c;
  const tiles = Array.from(
    { length: n },
    (_, i) => tile(x.data.subarray(i * per, (i + 1) * per), h, w, c as 1 | 3, range, labels?.[i]),
  );
  return await imageGrid(tiles, { ...opts, title: opts.title ?? `${n} images` });
}
