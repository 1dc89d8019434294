/**
 * How the frameworks the lecture names spell a conv layer, mapped to the kit's hyperparameters
 * (K filters of F x F, stride S, pad P), and the same layer built in TensorFlow.js layers.
 *
 * - Torch: `nn.SpatialConvolution(nInputPlane, nOutputPlane, kW, kH, dW, dH, padW, padH)`
 * - Caffe: `convolution_param { num_output, kernel_size, stride, pad }`
 * - Lasagne: `Conv2DLayer(incoming, num_filters, filter_size, stride, pad)`
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { Tensor } from "./tensor.ts";
import { tf } from "./tf/backend.ts";

/** A conv layer in the kit's terms. */
export interface ConvSpec {
  /** Input depth, when the framework states it (Torch does). */
  cIn?: number;
  /** Number of filters K. */
  k: number;
  /** Filter height and width. */
  fh: number;
  fw: number;
  /** Stride S (the kit uses one stride for both axes). */
  stride: number;
  /** Zero padding P (one pad for both axes). */
  pad: number;
}

function same(where: string, what: string, a: number, b: number): number {
  if (a !== b) {
    throw new RangeError(
      `${where}: the kit's layer takes one ${what} for both axes, got ${a} and ${b}`,
    );
  }
  return a;
}

/**
 * Torch's `SpatialConvolution(nInputPlane, nOutputPlane, kW, kH, dW = 1, dH = 1, padW = 0, padH = 0)`.
 *
 * @example
 * ```ts
 * import { fromTorch } from "convkit/frameworks.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(fromTorch(3, 10, 5, 5, 1, 1, 2, 2), { cIn: 3, k: 10, fh: 5, fw: 5, stride: 1, pad: 2 });
 * ```
 */
export function fromTorch(
  nInputPlane: number,
  nOutputPlane: number,
  kW: number,
  kH: number,
  dW = 1,
  dH = 1,
  padW = 0,
  padH = padW,
): ConvSpec {
  return {
    cIn: nInputPlane,
    k: nOutputPlane,
    fh: kH,
    fw: kW,
    stride: same("fromTorch", "stride", dW, dH),
    pad: same("fromTorch", "pad", padW, padH),
  };
}

/** Caffe's `convolution_param` (the fields the lecture lists). */
export interface CaffeConvolutionParam {
  num_output: number;
  kernel_size: number;
  stride?: number;
  pad?: number;
}

/** Caffe's `convolution_param { num_output kernel_size stride pad }`. */
export function fromCaffe(p: CaffeConvolutionParam): ConvSpec {
  return {
    k: p.num_output,
    fh: p.kernel_size,
    fw: p.kernel_size,
    stride: p.stride ?? 1,
    pad: p.pad ?? 0,
  };
}

/** Lasagne's `Conv2DLayer` arguments; `pad` may also be "valid" (0), "full" (F - 1) or "same" (F // 2). */
export interface LasagneConv2D {
  num_filters: number;
  filter_size: number;
  stride?: number;
  pad?: number | "valid" | "full" | "same";
}

/** Lasagne's `Conv2DLayer(incoming, num_filters, filter_size, stride, pad)`. */
export function fromLasagne(p: LasagneConv2D): ConvSpec {
  const f = p.filter_size;
  const pad = p.pad === undefined || p.pad === "valid"
    ? 0
    : p.pad === "full"
    ? f - 1
    : p.pad === "same"
    ? Math.floor(f / 2)
    : p.pad;
  return { k: p.num_filters, fh: f, fw: f, stride: p.stride ?? 1, pad };
}

/**
 * The layer in TensorFlow.js layers: `tf.layers.zeroPadding2d` (when P > 0) then `tf.layers.conv2d` with
 * "valid" padding, since tfjs's own padding is only "same" or "valid". With `w` and `b` given, the model
 * uses those weights.
 *
 * @param inputShape `[H, W, C]`
 */
export function tfjsConv2d(
  spec: ConvSpec,
  inputShape: readonly [number, number, number],
  w?: Tensor,
  b?: Tensor,
) {
  const model = tfl.sequential();
  if (spec.pad > 0) {
    model.add(tfl.layers.zeroPadding2d({ padding: spec.pad, inputShape: [...inputShape] }));
  }
  model.add(tfl.layers.conv2d({
    filters: spec.k,
    kernelSize: [spec.fh, spec.fw],
    strides: spec.stride,
    padding: "valid",
    ...(spec.pad > 0 ? {} : { inputShape: [...inputShape] }),
  }));
  if (w && b) {
    model.setWeights([
      tf.tensor(Float32Array.from(w.data), [...w.shape]),
      tf.tensor(Float32Array.from(b.data), [...b.shape]),
    ]);
  }
  return model;
}
