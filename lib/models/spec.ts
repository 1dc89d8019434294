/**
 * Declarative model specs: a list of layers from which the kit computes every output volume, parameter
 * count, activation count and multiply-add (`summarize`, in summary.ts) and builds a runnable
 * TensorFlow.js model (tfjs.ts). The case-study notebooks read all their numbers from these.
 *
 * Sizes follow PyTorch and Caffe: convolutions and pools round down, `(N - F + 2P) / S` floored, plus 1;
 * pools with `ceil: true` round up (Caffe's pooling, GoogLeNet); `pad: "same"` keeps `ceil(N / S)`.
 *
 * @module
 */

/** A convolution: K filters of F x F (x C_in / groups), stride, pad; optional bias, batch norm, ReLU. */
export interface ConvLayer {
  kind: "conv";
  name: string;
  filters: number;
  size: number | readonly [number, number];
  stride?: number;
  pad?: number | "same";
  /** Default true; false for convs followed by batch norm (ResNet). */
  bias?: boolean;
  /** Batch norm after the conv: 2 parameters (gamma, beta) and 2 running statistics per channel. */
  bn?: boolean;
  /** Split the input and filters into this many independent groups (AlexNet's two GPUs: 2). */
  groups?: number;
  /** ReLU after (default true). */
  relu?: boolean;
}

/** Max or average pooling. */
export interface PoolLayer {
  kind: "pool";
  name: string;
  op: "max" | "avg";
  size: number;
  stride: number;
  pad?: number;
  /** Round the output size up (Caffe): `ceil((N - F + 2P) / S) + 1`. */
  ceil?: boolean;
}

/** Average over the whole spatial extent: H x W x D to 1 x 1 x D. */
export interface GlobalAvgPoolLayer {
  kind: "globalAvgPool";
  name: string;
}

/** Fully connected (after flattening a volume). */
export interface FcLayer {
  kind: "fc";
  name: string;
  units: number;
  relu?: boolean;
  bias?: boolean;
}

/** Layers without parameters that keep the shape. */
export interface PassLayer {
  kind: "dropout" | "lrn" | "softmax" | "relu";
  name: string;
  rate?: number;
}

/**
 * GoogLeNet's Inception module: four branches concatenated along the depth: 1x1 (`c1`); 1x1 reduce
 * (`c3r`) then 3x3 (`c3`); 1x1 reduce (`c5r`) then 5x5 (`c5`); 3x3 max pool then 1x1 (`pool`).
 */
export interface InceptionLayer {
  kind: "inception";
  name: string;
  c1: number;
  c3r: number;
  c3: number;
  c5r: number;
  c5: number;
  pool: number;
  /** Batch norm after every conv, convs without bias (torchvision's GoogLeNet). */
  bn?: boolean;
  /** Filter size of the "5x5" branch (torchvision uses 3, a documented bug it keeps for its weights). */
  size5?: 3 | 5;
}

/**
 * A ResNet block. Basic: 3x3 (stride S), 3x3, out = `filters`. Bottleneck: 1x1, 3x3 (stride S), 1x1 to
 * `4 * filters`. Every conv is followed by batch norm and has no bias; a projection shortcut (1x1 conv +
 * BN) when the stride or depth changes.
 */
export interface ResidualLayer {
  kind: "residual";
  name: string;
  block: "basic" | "bottleneck";
  filters: number;
  stride: number;
}

/** One layer of a spec. */
export type Layer =
  | ConvLayer
  | PoolLayer
  | GlobalAvgPoolLayer
  | FcLayer
  | PassLayer
  | InceptionLayer
  | ResidualLayer;

/** A model: an input volume and layers, with notes on the variant. */
export interface ModelSpec {
  name: string;
  /** `[H, W, C]`. */
  input: readonly [number, number, number];
  layers: readonly Layer[];
  /** Which variant this is (e.g. "one stream", "torchvision"). */
  variant?: string;
}

/** A volume's size, H x W x D. */
export type Volume = readonly [h: number, w: number, d: number];

/** Output size of a window along one axis, as the spec's layers compute it. */
export function windowOut(
  n: number,
  f: number,
  s: number,
  p: number | "same",
  ceil = false,
  where = "",
): number {
  for (const [name, v, min] of [["input", n, 1], ["window", f, 1], ["stride", s, 1]] as const) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${where}: ${name} size must be a whole number >= ${min}, got ${v}`);
    }
  }
  if (p !== "same" && (!Number.isInteger(p) || p < 0)) {
    throw new RangeError(`${where}: pad must be a whole number >= 0 or "same", got ${p}`);
  }
  if (p === "same") return Math.ceil(n / s);
  const span = n - f + 2 * p;
  if (span < 0) throw new RangeError(`${where}: a ${f}-wide window does not fit ${n} + 2*${p}`);
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // Caffe and PyTorch drop a last ceil-mode window that would start inside the right padding
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

/** Filter height and width of a conv layer. */
export function filterSize(l: ConvLayer): [number, number] {
  return typeof l.size === "number" ? [l.size, l.size] : [l.size[0], l.size[1]];
}

/** The pad a conv applies, as a number (for "same" at stride 1: (F - 1) / 2). */
export function padOf(l: ConvLayer, f: number): number {
  if (l.pad === "same") return Math.floor((f - 1) / 2);
  return l.pad ?? 0;
}
