/**
 * Receptive fields: which window of the input a unit of a conv or pool layer sees, computed layer by
 * layer with the standard recurrence (Araujo, Norris & Sim, "Computing Receptive Fields of
 * Convolutional Neural Networks", Distill 2019, eq. 1-3 in forward form; CS231n notes, "Convolutional
 * Neural Networks", receptive field of stacked layers). For a layer with a k x k window (dilation d:
 * k_eff = d(k - 1) + 1), stride s and padding p before the first row/column, on a layer below with
 * field r_in, jump j_in and centre start_in:
 *
 *     r_out     = r_in + (k_eff - 1) * j_in
 *     j_out     = j_in * s
 *     start_out = start_in + ((k_eff - 1) / 2 - p) * j_in
 *
 * The input has r = 1, j = 1, start = 0 (pixel centres at whole numbers). Unit (y, x) of a layer sees
 * rows `start_h + y * j_h - (r_h - 1) / 2` to `... + (r_h - 1) / 2` of the input (and likewise for the
 * columns); rows outside `[0, H)` are padding.
 *
 * Two sources: a model spec (`receptiveFields(spec)`, lib/models/spec.ts) and a tfjs `LayersModel`
 * (`receptiveFieldsOfModel(model)`, for a chain of layers such as `tfjsModel(spec)` builds).
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import { filterSize, type Layer, type ModelSpec, windowOut } from "./spec.ts";

/** A pair of numbers along the height and the width. */
export type Pair = readonly [h: number, w: number];

/** The receptive field of the units of one layer, in input pixels. */
export interface ReceptiveField {
  /** The layer's name (the spec's, or the tfjs layer's). */
  name: string;
  /** Field size `[r_h, r_w]`: how many input rows and columns one unit sees (padding included). */
  size: Pair;
  /** Jump `[j_h, j_w]` (effective stride): input pixels between the fields of neighbouring units. */
  jump: Pair;
  /** Centre of unit (0, 0)'s field in input coordinates `[y, x]`; a half for even windows, negative with padding. */
  start: Pair;
  /** The layer's output size `[H_out, W_out]`. */
  output: Pair;
}

/** The input window a unit sees: rows `top .. top + height - 1`, columns `left .. left + width - 1`. */
export interface PatchWindow {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** The input as a "layer": a field of one pixel, jump 1, centre 0. */
export function inputField(h: number, w: number): ReceptiveField {
  return { name: "input", size: [1, 1], jump: [1, 1], start: [0, 0], output: [h, w] };
}

function check(where: string, what: string, v: Pair, min: number) {
  for (const n of v) {
    if (!Number.isInteger(n) || n < min) {
      throw new RangeError(`${where}: ${what} must be whole numbers >= ${min}, got ${v.join("x")}`);
    }
  }
}

/**
 * One step of the recurrence: the field of a window layer (conv or pool) on top of `below`.
 *
 * @param size window `[k_h, k_w]` (dilation already applied: `d (k - 1) + 1`)
 * @param stride `[s_h, s_w]`
 * @param pad padding before the first row and column `[p_top, p_left]` (what is added after does not move fields)
 * @param output the layer's output size `[H_out, W_out]`
 * @throws {RangeError} for sizes or strides below 1, or a negative pad
 * @see Araujo, Norris & Sim, Distill 2019, "Computing Receptive Fields of Convolutional Neural Networks"
 * @example
 * ```ts
 * import { inputField, stackWindow } from "convkit/models/receptive_field.ts";
 * import assert from "node:assert/strict";
 * // AlexNet's CONV1: 11x11, stride 4, no pad, on 227x227
 * const c1 = stackWindow(inputField(227, 227), "CONV1", [11, 11], [4, 4], [0, 0], [55, 55]);
 * assert.deepEqual([c1.size, c1.jump, c1.start], [[11, 11], [4, 4], [5, 5]]);
 * ```
 */
export function stackWindow(
  below: ReceptiveField,
  name: string,
  size: Pair,
  stride: Pair,
  pad: Pair,
  output: Pair,
): ReceptiveField {
  const where = `receptive field of ${name}`;
  check(where, "window sizes", size, 1);
  check(where, "strides", stride, 1);
  check(where, "pads", pad, 0);
  const axis = (a: 0 | 1) => ({
    r: below.size[a] + (size[a] - 1) * below.jump[a],
    j: below.jump[a] * stride[a],
    start: below.start[a] + ((size[a] - 1) / 2 - pad[a]) * below.jump[a],
  });
  const h = axis(0), w = axis(1);
  return { name, size: [h.r, w.r], jump: [h.j, w.j], start: [h.start, w.start], output };
}

/**
 * Padding TensorFlow ("same") puts before the first row of an input of `n` for a window `k` at stride
 * `s`: half of `max((ceil(n / s) - 1) s + k - n, 0)`, rounded down (the rest goes after).
 *
 * @see https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2
 * @example
 * ```ts
 * import { samePadBefore } from "convkit/models/receptive_field.ts";
 * import assert from "node:assert/strict";
 * assert.equal(samePadBefore(32, 5, 1), 2); // (32 - 1) * 1 + 5 - 32 = 4, half before
 * assert.equal(samePadBefore(8, 3, 2), 0); // (4 - 1) * 2 + 3 - 8 = 1, all after
 * ```
 */
export function samePadBefore(n: number, k: number, s: number): number {
  const out = Math.ceil(n / s);
  return Math.floor(Math.max((out - 1) * s + k - n, 0) / 2);
}

/**
 * Receptive fields of a spec's conv and pool layers (and Inception and residual blocks, as their widest
 * branch: every branch is padded to keep its centre), in order, up to the first FC or global pooling
 * layer, whose units see the whole input. Layers that keep the shape (ReLU, dropout, LRN) have no entry.
 * Convs with `pad: "same"` are padded as TensorFlow pads (`samePadBefore`), as `tfjsModel(spec)` builds them.
 *
 * @returns one field per window layer, `output` its `[H_out, W_out]`
 * @example
 * ```ts
 * import { receptiveFields } from "convkit/models/receptive_field.ts";
 * import { vgg16 } from "convkit/models/zoo.ts";
 * import assert from "node:assert/strict";
 * // three 3x3 convs see 7x7 (CONV1-1, CONV1-2, POOL1, CONV2-1 ...)
 * assert.deepEqual(receptiveFields(vgg16()).map((f) => f.size[0]).slice(0, 4), [3, 5, 6, 10]);
 * ```
 * @see ../../notebooks/16_lenet5_mnist.ipynb
 */
export function receptiveFields(spec: ModelSpec): ReceptiveField[] {
  let rf = inputField(spec.input[0], spec.input[1]);
  const out: ReceptiveField[] = [];
  const win = (
    below: ReceptiveField,
    name: string,
    k: Pair,
    s: number,
    pad: number | "same",
    ceil = false,
  ) => {
    const [h, w] = below.output;
    const p: Pair = pad === "same"
      ? [samePadBefore(h, k[0], s), samePadBefore(w, k[1], s)]
      : [pad, pad];
    const o: Pair = [
      windowOut(h, k[0], s, pad, ceil, name),
      windowOut(w, k[1], s, pad, ceil, name),
    ];
    return stackWindow(below, name, k, [s, s], p, o);
  };
  for (const l of spec.layers as readonly Layer[]) {
    switch (l.kind) {
      case "conv":
        rf = win(rf, l.name, filterSize(l), l.stride ?? 1, l.pad ?? 0);
        break;
      case "pool":
        rf = win(rf, l.name, [l.size, l.size], l.stride, l.pad ?? 0, l.ceil);
        break;
      case "inception": {
        // branches 1x1; 1x1 then 3x3 (pad 1); 1x1 then 5x5 (pad 2); 3x3 pool (pad 1) then 1x1: the widest
        const k = Math.max(3, l.size5 ?? 5);
        rf = { ...win(rf, l.name, [k, k], 1, (k - 1) / 2), name: l.name };
        break;
      }
      case "residual": {
        // the conv path (the shortcut, a 1x1 at the same stride, sees less, centred the same)
        const c = l.block === "basic"
          ? win(win(rf, l.name, [3, 3], l.stride, 1), l.name, [3, 3], 1, 1)
          : win(win(rf, l.name, [1, 1], 1, 0), l.name, [3, 3], l.stride, 1);
        rf = c;
        break;
      }
      case "fc":
      case "globalAvgPool":
        return out;
      default:
        continue; // shape-keeping layers
    }
    out.push(rf);
  }
  return out;
}

type AnyLayer = tfl.layers.Layer;

function pairOf(v: unknown, fallback: number): Pair {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === "number") return [v, v];
  const a = v as number[];
  return [a[0], a[1] ?? a[0]];
}

const WINDOW_CLASSES = new Set([
  "Conv2D",
  "DepthwiseConv2D",
  "SeparableConv2D",
  "MaxPooling2D",
  "AveragePooling2D",
]);
const SHAPE_KEEPING = new Set([
  "InputLayer",
  "Activation",
  "ReLU",
  "LeakyReLU",
  "BatchNormalization",
  "Dropout",
  "SpatialDropout2D",
  "GaussianNoise",
  "Softmax",
]);

/**
 * Receptive fields of the conv and pool layers of a tfjs `LayersModel` that is a chain (each layer reads
 * the one before it, as `tfjsModel(spec)` builds LeNet-5 or the ConvNetJS net), keyed by layer name, in
 * order, up to the first layer that mixes all positions (Flatten, Dense, global pooling).
 * `ZeroPadding2D` layers move the fields of the layers after them; "same" padding is TensorFlow's
 * (`samePadBefore`); dilation widens a window to `d (k - 1) + 1`.
 *
 * @param model a built model with input `[N, H, W, C]`
 * @throws {RangeError} when the model is not a chain (a layer with two inputs, e.g. Add or Concatenate)
 * @example
 * ```ts
 * import { receptiveFieldsOfModel } from "convkit/models/receptive_field.ts";
 * import { tfjsModel } from "convkit/models/tfjs.ts";
 * import { lenet5 } from "convkit/models/zoo.ts";
 * import assert from "node:assert/strict";
 * const fields = receptiveFieldsOfModel(tfjsModel(lenet5()));
 * assert.deepEqual(fields.map((f) => f.size[0]), [5, 6, 14, 16, 32]); // C1, S2, C3, S4, C5
 * ```
 * @see ../../notebooks/17_cifar10_demo.ipynb
 */
export function receptiveFieldsOfModel(model: tfl.LayersModel): ReceptiveField[] {
  const inShape = model.inputs[0].shape;
  if (model.inputs.length !== 1 || inShape.length !== 4) {
    throw new RangeError(
      `receptiveFieldsOfModel: needs one input [N, H, W, C], got ${
        model.inputs.map((i) => `[${i.shape.join(", ")}]`).join(" and ")
      }`,
    );
  }
  let rf = inputField(inShape[1]!, inShape[2]!);
  let pending: Pair = [0, 0]; // zero padding not yet applied
  let prevName: string | undefined;
  const out: ReceptiveField[] = [];
  for (const layer of model.layers as AnyLayer[]) {
    const cls = layer.getClassName();
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers.map((l) => l.name));
    if (inbound.length > 1 || (prevName !== undefined && inbound[0] !== prevName)) {
      throw new RangeError(
        `receptiveFieldsOfModel: ${layer.name} (${cls}) reads ${
          inbound.join(", ") || "nothing"
        }, not the layer before it (${prevName}): the model is not a chain`,
      );
    }
    prevName = layer.name;
    if (SHAPE_KEEPING.has(cls)) continue;
    // deno-lint-ignore no-explicit-any
    const cfg = layer.getConfig() as Record<string, any>;
    const outShape = layer.outputShape as number[];
    if (cls === "ZeroPadding2D") {
      const p = cfg.padding as number | number[] | number[][];
      const before: Pair = typeof p === "number"
        ? [p, p]
        : Array.isArray(p[0])
        ? [(p as number[][])[0][0], (p as number[][])[1][0]]
        : [(p as number[])[0], (p as number[])[1]];
      pending = [pending[0] + before[0], pending[1] + before[1]];
      // the padded input is larger: the next window counts its output on it
      rf = { ...rf, output: [outShape[1], outShape[2]] };
      continue;
    }
    if (!WINDOW_CLASSES.has(cls)) return out; // Flatten, Dense, global pools: all positions mixed
    const k0 = pairOf(cfg.kernelSize ?? cfg.poolSize, 1);
    const s = pairOf(cfg.strides, 1);
    const d = pairOf(cfg.dilationRate, 1);
    const k: Pair = [d[0] * (k0[0] - 1) + 1, d[1] * (k0[1] - 1) + 1];
    const [h, w] = rf.output;
    const same = cfg.padding === "same";
    const pad: Pair = [
      pending[0] + (same ? samePadBefore(h, k[0], s[0]) : 0),
      pending[1] + (same ? samePadBefore(w, k[1], s[1]) : 0),
    ];
    // zero padding layers before this one count as its padding
    rf = stackWindow(rf, layer.name, k, s, pad, [outShape[1], outShape[2]]);
    pending = [0, 0];
    out.push(rf);
  }
  return out;
}

/**
 * The input window unit `(y, x)` of a layer sees, before clipping to the image: rows
 * `start_h + y j_h - (r_h - 1) / 2` on, `r_h` of them (columns likewise). Parts outside `[0, H)` are padding.
 *
 * @throws {RangeError} for a position outside the layer's output
 * @example
 * ```ts
 * import { inputField, patchOf, stackWindow } from "convkit/models/receptive_field.ts";
 * import assert from "node:assert/strict";
 * const c = stackWindow(inputField(8, 8), "conv", [3, 3], [1, 1], [1, 1], [8, 8]); // 3x3, pad 1
 * assert.deepEqual(patchOf(c, 0, 7), { top: -1, left: 6, height: 3, width: 3 });
 * ```
 */
export function patchOf(rf: ReceptiveField, y: number, x: number): PatchWindow {
  if (
    !Number.isInteger(y) || !Number.isInteger(x) || y < 0 || x < 0 || y >= rf.output[0] ||
    x >= rf.output[1]
  ) {
    throw new RangeError(
      `patchOf: unit (${y}, ${x}) is outside ${rf.name}'s ${rf.output.join("x")} output`,
    );
  }
  return {
    top: rf.start[0] + y * rf.jump[0] - (rf.size[0] - 1) / 2,
    left: rf.start[1] + x * rf.jump[1] - (rf.size[1] - 1) / 2,
    height: rf.size[0],
    width: rf.size[1],
  };
}
