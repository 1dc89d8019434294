/**
 * The feature hierarchy, computed: for chosen filters of a trained model's conv layers, the image
 * patches (receptive fields) that activate each filter most across a set of images, as Zeiler & Fergus
 * show them ("Visualizing and Understanding Convolutional Networks", ECCV 2014, fig. 2: the top 9
 * patches of a few filters per layer; here only the patches, without the deconvnet projections). First
 * layers answer to edges and colours in small patches, deeper layers to larger and more specific parts.
 *
 * `topPatches` runs the images through the model in batches (tfjs), keeps for each filter the `k`
 * images whose strongest response (the maximum over the filter's activation map) is largest, and maps
 * the arg-max position to its input window with the receptive field the kit computes
 * (lib/models/receptive_field.ts). `featureHierarchyFigure` draws them; `patchAloneActivations` checks
 * patches: the units' values with every input pixel outside their fields set to zero.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { tf } from "../tf/backend.ts";
import {
  patchOf,
  type PatchWindow,
  type ReceptiveField,
  receptiveFieldsOfModel,
} from "../models/receptive_field.ts";
import { Figure } from "./figure.ts";
import { tile, upscale } from "./images.ts";
import { encodePng, toBase64 } from "./png.ts";
import { svgToPng } from "./render.ts";

/** One image's strongest response of a filter. */
export interface PatchHit {
  /** Index of the image in the set. */
  image: number;
  /** Position `(y, x)` of the maximum in the layer's activation map. */
  y: number;
  x: number;
  /** The activation there. */
  activation: number;
  /** The input window of that unit (unclipped: may reach into the padding). */
  patch: PatchWindow;
}

/** The top patches of the chosen filters of one layer. */
export interface LayerTopPatches {
  /** The tfjs layer's name. */
  layer: string;
  /** What figures call the layer (e.g. the spec's "conv3"). */
  label: string;
  field: ReceptiveField;
  /** Filters (channels) of the layer. */
  depth: number;
  /** One entry per chosen filter, its hits best first. */
  filters: { filter: number; hits: PatchHit[] }[];
}

/** What `topPatches` computed: one entry per chosen layer, and the number of images searched. */
export interface TopPatches {
  layers: LayerTopPatches[];
  images: number;
}

/** Options of `topPatches`. */
export interface TopPatchesOptions {
  /** Layers (names or layer objects) of the model, e.g. its Conv2D layers. */
  layers: readonly (string | tfl.layers.Layer)[];
  /** Names for figures, one per layer (default: the layer names). */
  labels?: readonly string[];
  /** The first n filters of each layer (default 6), or the filter indices per layer. */
  filters?: number | readonly (readonly number[])[];
  /** Patches per filter (default 6). */
  k?: number;
  /** Images per forward pass (default 256): memory stays bounded by one batch's activations. */
  batchSize?: number;
}

function layerOf(model: tfl.LayersModel, l: string | tfl.layers.Layer): tfl.layers.Layer {
  return typeof l === "string" ? model.getLayer(l) : l;
}

/**
 * For chosen filters of chosen layers, the `k` images of `inputs` that activate each filter most (the
 * maximum over its activation map), with the arg-max position and the input window of that unit
 * (Zeiler & Fergus 2014, fig. 2). One hit per image and filter; ties go to the lower image index and the
 * first position in row-major order.
 *
 * @param model a trained tfjs model whose layers form a chain (as `tfjsModel` builds them)
 * @param inputs what the model reads, `[N, H, W, C]` (normalized as in training); not disposed
 * @returns per layer its receptive field and, per filter, its hits best first
 * @throws {RangeError} for a layer without a receptive field (after Flatten or Dense), filters outside the
 * layer's depth, a k or batch size below 1, inputs whose size is not the model's, or an image that gives
 * a filter NaN
 * @see ../../notebooks/17_cifar10_demo.ipynb
 */
export async function topPatches(
  model: tfl.LayersModel,
  inputs: tf.Tensor4D,
  opts: TopPatchesOptions,
): Promise<TopPatches> {
  const k = opts.k ?? 6, batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `topPatches: k and batchSize must be whole numbers >= 1, got ${k}, ${batchSize}`,
    );
  }
  const want = model.inputs[0].shape;
  if (
    inputs.rank !== 4 || inputs.shape[1] !== want[1] || inputs.shape[2] !== want[2] ||
    inputs.shape[3] !== want[3]
  ) {
    throw new RangeError(
      `topPatches: inputs [${inputs.shape.join(", ")}] do not fit the model's input [${
        want.join(", ")
      }]`,
    );
  }
  const fields = new Map(receptiveFieldsOfModel(model).map((f) => [f.name, f]));
  const layers = opts.layers.map((l) => layerOf(model, l));
  const result: LayerTopPatches[] = layers.map((layer, li) => {
    const field = fields.get(layer.name);
    if (!field) {
      throw new RangeError(
        `topPatches: ${layer.name} has no receptive field (only conv and pool layers before Flatten/Dense have one)`,
      );
    }
    const depth = (layer.outputShape as number[])[3];
    const chosen = typeof opts.filters === "object"
      ? [...opts.filters[li]]
      : Array.from({ length: Math.min(depth, opts.filters ?? 6) }, (_, f) => f);
    for (const f of chosen) {
      if (!Number.isInteger(f) || f < 0 || f >= depth) {
        throw new RangeError(`topPatches: filter ${f} is outside ${layer.name}'s ${depth} filters`);
      }
    }
    return {
      layer: layer.name,
      label: opts.labels?.[li] ?? layer.name,
      field,
      depth,
      filters: chosen.map((filter) => ({ filter, hits: [] as PatchHit[] })),
    };
  });
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: layers.map((l) => l.output as tfl.SymbolicTensor),
  });
  const n = inputs.shape[0];
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const outs = tf.tidy(() => {
      const x = tf.slice(inputs, [start, 0, 0, 0], [b, -1, -1, -1]);
      const ys = sub.predict(x);
      return (Array.isArray(ys) ? ys : [ys]).flatMap((y) => {
        const [, h, w, d] = y.shape as number[];
        const flat = tf.reshape(y, [b, h * w, d]);
        return [tf.max(flat, 1), tf.argMax(flat, 1)];
      });
    });
    const data = await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
    result.forEach((r, li) => {
      const max = data[2 * li], arg = data[2 * li + 1];
      const w = r.field.output[1];
      for (const f of r.filters) {
        for (let i = 0; i < b; i++) {
          const v = max[i * r.depth + f.filter];
          if (Number.isNaN(v)) { // it would stop the ranking: no later image compares above a NaN
            throw new RangeError(
              `topPatches: image ${
                start + i
              } gives NaN in ${r.layer} filter ${f.filter}: find where it came from`,
            );
          }
          const hits = f.hits;
          if (hits.length === k && !(v > hits[k - 1].activation)) continue;
          const pos = arg[i * r.depth + f.filter];
          const y = Math.floor(pos / w), x = pos % w;
          const hit = { image: start + i, y, x, activation: v, patch: patchOf(r.field, y, x) };
          let at = hits.length;
          while (at > 0 && hits[at - 1].activation < v) at--;
          hits.splice(at, 0, hit);
          if (hits.length > k) hits.pop();
        }
      }
    });
  }
  return { layers: result, images: n };
}

/** Images as flat values and a shape `[N, H, W, C]` (e.g. a dataset's `Uint8Array` of pixels). */
export interface ImageSet {
  data: ArrayLike<number>;
  shape: readonly [n: number, h: number, w: number, c: number];
}

/**
 * The pixels of image `image` in `window`, `[height, width, C]` row-major; pixels of the window outside
 * the image (padding) are `fill`.
 *
 * @returns the values and how many pixels lay outside the image
 * @throws {RangeError} for an image index outside the set
 * @example
 * ```ts
 * import { cropPatch } from "convkit/plot/feature_hierarchy.ts";
 * import assert from "node:assert/strict";
 * const img = { data: [1, 2, 3, 4], shape: [1, 2, 2, 1] as const }; // one 2x2 image
 * const p = cropPatch(img, 0, { top: -1, left: 0, height: 2, width: 2 }, 0.5);
 * assert.deepEqual([...p.data], [0.5, 0.5, 1, 2]);
 * assert.equal(p.outside, 2);
 * ```
 */
export function cropPatch(
  images: ImageSet,
  image: number,
  window: PatchWindow,
  fill: number,
): { data: Float64Array; outside: number } {
  const [n, h, w, c] = images.shape;
  if (!Number.isInteger(image) || image < 0 || image >= n) {
    throw new RangeError(`cropPatch: image ${image} is outside the ${n} images`);
  }
  const out = new Float64Array(window.height * window.width * c);
  let outside = 0;
  for (let i = 0; i < window.height; i++) {
    const y = window.top + i;
    for (let j = 0; j < window.width; j++) {
      const x = window.left + j;
      const o = (i * window.width + j) * c;
      if (y < 0 || y >= h || x < 0 || x >= w) {
        out.fill(fill, o, o + c);
        outside++;
      } else {
        const s = ((image * h + y) * w + x) * c;
        for (let ch = 0; ch < c; ch++) out[o + ch] = images.data[s + ch];
      }
    }
  }
  return { data: out, outside };
}

/** Options of `featureHierarchyFigure`. */
export interface HierarchyFigureOptions {
  title?: string;
  /** About how many screen pixels a patch is drawn at (default 48; whole-number enlargements). */
  patchPx?: number;
  /** Filters side by side in one layer's block (default: as many as fit in about 960 px). */
  filtersPerRow?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * The top patches as one figure (PNG): one block per layer, titled with its receptive field
 * ("conv3: receptive field 32x32"), each filter a small row of its patches, best on the left; padding
 * (the part of a field outside the image) is grey. Pixels are shown as `[0, 1]`, or `[0, 255]` when any
 * value exceeds 1, as `showImages` does.
 *
 * @param pixels the images `topPatches` searched, as pixels to show `[N, H, W, C]`, C 1 or 3
 * @throws {RangeError} when `pixels` holds fewer images than were searched, or C is not 1 or 3
 * @see ../../notebooks/16_lenet5_mnist.ipynb
 */
export async function featureHierarchyFigure(
  top: TopPatches,
  pixels: ImageSet,
  opts: HierarchyFigureOptions = {},
): Promise<Figure> {
  const [n, , , c] = pixels.shape;
  if (n < top.images || (c !== 1 && c !== 3)) {
    throw new RangeError(
      `featureHierarchyFigure: pixels [${
        pixels.shape.join(", ")
      }] must hold the ${top.images} images searched, with 1 or 3 channels`,
    );
  }
  let max = 0;
  for (let i = 0; i < pixels.data.length; i++) max = Math.max(max, pixels.data[i]);
  const range = { min: 0, max: max > 1 ? 255 : 1 };
  const grey = range.max / 2;
  const title = opts.title ??
    `top ${top.layers[0]?.filters[0]?.hits.length ?? 0} patches of ${top.images} images per filter`;
  const gap = 3, cellGap = 14, labelH = 13, blockTitleH = 22, titleH = 28, margin = 10;
  const target = opts.patchPx ?? 48;
  const parts: string[] = [];
  const blocks: {
    width: number;
    height: number;
    draw: (x0: number, y0: number) => Promise<void>;
  }[] = [];
  for (const l of top.layers) {
    const [rh, rw] = l.field.size;
    const scale = Math.max(1, Math.round(target / Math.max(rh, rw)));
    const pw = rw * scale, ph = rh * scale;
    const k = Math.max(1, ...l.filters.map((f) => f.hits.length));
    const cellW = Math.max(k * (pw + gap) - gap, 60);
    const perRow = opts.filtersPerRow ??
      Math.max(1, Math.floor((960 + cellGap) / (cellW + cellGap)));
    const cols = Math.min(perRow, l.filters.length);
    const rows = Math.ceil(l.filters.length / cols);
    const heading =
      `${l.label}: receptive field ${rh}x${rw}; ${l.filters.length} of ${l.depth} filters`;
    const width = Math.max(cols * (cellW + cellGap) - cellGap, heading.length * 7.5);
    const height = blockTitleH + rows * (labelH + ph + cellGap);
    blocks.push({
      width,
      height,
      draw: async (x0, y0) => {
        parts.push(
          `<text x="${x0}" y="${y0 + 15}" font-size="13" font-weight="bold">${esc(heading)}</text>`,
        );
        for (let fi = 0; fi < l.filters.length; fi++) {
          const f = l.filters[fi];
          const cx = x0 + (fi % cols) * (cellW + cellGap);
          const cy = y0 + blockTitleH + Math.floor(fi / cols) * (labelH + ph + cellGap);
          parts.push(`<text x="${cx}" y="${cy + 10}" font-size="10">filter ${f.filter}</text>`);
          for (let hi = 0; hi < f.hits.length; hi++) {
            const hit = f.hits[hi];
            const p = cropPatch(pixels, hit.image, hit.patch, grey);
            const t = tile(p.data, rh, rw, c as 1 | 3, range);
            const png = await encodePng(upscale(t, scale), pw, ph);
            parts.push(
              `<image x="${cx + hi * (pw + gap)}" y="${
                cy + labelH
              }" width="${pw}" height="${ph}" href="data:image/png;base64,${toBase64(png)}"/>`,
            );
          }
        }
      },
    });
  }
  const width = Math.ceil(
    Math.max(title.length * 8, ...blocks.map((b) => b.width)) + 2 * margin,
  );
  let y = titleH;
  for (const b of blocks) {
    await b.draw(margin, y);
    y += b.height + 6;
  }
  const height = Math.ceil(y + margin);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${width / 2}" y="19" font-size="14" font-weight="bold" text-anchor="middle">${
      esc(title)
    }</text>${parts.join("")}</svg>`;
  return new Figure({ title, png: await svgToPng(svg) });
}

/**
 * The values of hits' units when the model reads only their patches: for each hit, image `hit.image` of
 * `inputs` with every pixel outside the unit's receptive field (`hit.patch`) set to zero, all in one
 * forward pass. Equal to each `hit.activation` when the field is right (a unit reads nothing outside
 * it); a field computed too small would change them.
 *
 * @param layer the layer the hits belong to
 * @param inputs what the model read, `[N, H, W, C]`; not disposed
 * @param hits hits of that layer, each with its filter (channel)
 * @returns one value per hit, in order
 */
export async function patchAloneActivations(
  model: tfl.LayersModel,
  layer: string | tfl.layers.Layer,
  inputs: tf.Tensor4D,
  hits: readonly { hit: PatchHit; filter: number }[],
): Promise<number[]> {
  if (hits.length === 0) return [];
  const l = layerOf(model, layer);
  const sub = tfl.model({ inputs: model.inputs, outputs: l.output as tfl.SymbolicTensor });
  const [, h, w] = inputs.shape;
  const out = tf.tidy(() => {
    const x = tf.gather(inputs, hits.map((e) => e.hit.image));
    // a mask [m, H, W, 1]: 1 inside each hit's window
    const mask = new Float32Array(hits.length * h * w);
    hits.forEach(({ hit }, m) => {
      const { top, left, height, width } = hit.patch;
      for (let y = Math.max(0, top); y < Math.min(h, top + height); y++) {
        for (let xx = Math.max(0, left); xx < Math.min(w, left + width); xx++) {
          mask[(m * h + y) * w + xx] = 1;
        }
      }
    });
    const y = sub.predict(tf.mul(x, tf.tensor4d(mask, [hits.length, h, w, 1]))) as tf.Tensor4D;
    const [, oh, ow, d] = y.shape;
    const at = hits.map(({ hit, filter }, m) => ((m * oh + hit.y) * ow + hit.x) * d + filter);
    return tf.gather(tf.reshape(y, [-1]), at);
  });
  const v = [...(await out.data())];
  out.dispose();
  return v;
}
