/**
 * Builds a runnable TensorFlow.js model from a spec, with the same layers and parameter counts as its
 * summary: `model.countParams()` equals `summarize(spec).totals.allParams` (tfjs also counts batch-norm
 * running statistics, which the summary lists apart from the trainable parameters).
 *
 * Limits of tfjs-layers 4.22, each an error or a note: no grouped convolutions (build AlexNet's one-stream
 * variant), no LRN layer (built as identity: it has no parameters), and pools that round up (Caffe) are built
 * as "valid" pools over an input padded at the bottom and right, which is exact for max pooling after ReLU.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { tf } from "../tf/backend.ts"; // registers the backends and starts tfjs on cpu
import { summarize } from "./summary.ts";
import {
  type ConvLayer,
  filterSize,
  type Layer,
  type ModelSpec,
  padOf,
  type Volume,
  windowOut,
} from "./spec.ts";

type SymbolicTensor = tfl.SymbolicTensor;

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_");
}

/**
 * The spec's name of a layer `tfjsModel` made: its tfjs name is the spec layer's name (letters,
 * digits and _ kept) with a counter and the tfjs part it is, so that names stay unique in a session
 * (`conv1_3_conv` for the conv of spec layer `conv1`). Other names are given back as they are.
 *
 * @example
 * ```ts
 * import { specLayerName } from "convkit/models/tfjs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(specLayerName("C1_3_conv"), "C1");
 * assert.equal(specLayerName("conv5_3_41_relu"), "conv5_3"); // VGG16's conv5_3
 * assert.equal(specLayerName("fc6_12"), "fc6");
 * assert.equal(specLayerName("dense_Dense1"), "dense_Dense1"); // not made by tfjsModel
 * ```
 */
export function specLayerName(tfjsName: string): string {
  return tfjsName.replace(/_\d+(_(pad|conv|bn|relu|pool|r|flat|logits|cat|add))?$/, "");
}

let uid = 0;

interface Ctx {
  x: SymbolicTensor;
  vol: Volume;
}

function convBlock(
  ctx: Ctx,
  name: string,
  k: number,
  fh: number,
  fw: number,
  stride: number,
  pad: number | "same",
  opts: { bias?: boolean; bn?: boolean; relu?: boolean },
): Ctx {
  let x = ctx.x;
  const id = `${safe(name)}_${++uid}`;
  let padding: "same" | "valid" = "valid";
  if (pad === "same") padding = "same";
  else if (pad > 0) {
    x = tfl.layers.zeroPadding2d({ padding: pad, name: `${id}_pad` }).apply(x) as SymbolicTensor;
  }
  const bn = opts.bn ?? false, relu = opts.relu ?? true;
  // conv + ReLU as one layer: tfjs then runs them as one fused kernel for inference and, while recording
  // gradients, as separate ops whose gradients are taken only where needed (a fused conv's gradient also
  // computes the input gradient of the first layer, which training throws away)
  const fuseRelu = relu && !bn;
  x = tfl.layers.conv2d({
    filters: k,
    kernelSize: [fh, fw],
    strides: stride,
    padding,
    useBias: opts.bias ?? !bn,
    activation: fuseRelu ? "relu" : "linear",
    name: `${id}_conv`,
  }).apply(x) as SymbolicTensor;
  if (bn) {
    x = tfl.layers.batchNormalization({ epsilon: 1e-5, momentum: 0.9, name: `${id}_bn` }).apply(
      x,
    ) as SymbolicTensor;
  }
  if (relu && !fuseRelu) {
    x = tfl.layers.activation({ activation: "relu", name: `${id}_relu` }).apply(
      x,
    ) as SymbolicTensor;
  }
  const [h, w] = ctx.vol;
  return { x, vol: [windowOut(h, fh, stride, pad), windowOut(w, fw, stride, pad), k] };
}

function apply(l: Layer, ctx: Ctx, isLast: boolean, logits = false): Ctx {
  const id = `${safe(l.name)}_${++uid}`;
  const [h, w, d] = ctx.vol;
  switch (l.kind) {
    case "conv": {
      if ((l.groups ?? 1) !== 1) {
        throw new RangeError(
          `tfjsModel: ${l.name} has ${l.groups} groups; tfjs-layers has no grouped convolution (build the one-stream variant)`,
        );
      }
      const [fh, fw] = filterSize(l as ConvLayer);
      const pad = l.pad === "same" ? "same" : padOf(l, fh);
      return convBlock(ctx, l.name, l.filters, fh, fw, l.stride ?? 1, pad, l);
    }
    case "pool": {
      const pad = l.pad ?? 0;
      const outH = windowOut(h, l.size, l.stride, pad, l.ceil),
        outW = windowOut(w, l.size, l.stride, pad, l.ceil);
      let x = ctx.x;
      // rounding up (Caffe) is pooling "valid" over an input padded at the bottom and right by what the last
      // window lacks; with zeros, which is exact for max pooling of ReLU outputs (never negative)
      const extraH = (outH - 1) * l.stride + l.size - (h + 2 * pad),
        extraW = (outW - 1) * l.stride + l.size - (w + 2 * pad);
      if (pad > 0 || extraH > 0 || extraW > 0) {
        if (l.op === "avg" && (extraH > 0 || extraW > 0)) {
          throw new RangeError(
            `tfjsModel: ${l.name} rounds an average pool up; only max pools can (zeros would change the mean)`,
          );
        }
        const padding: [[number, number], [number, number]] = [[pad, pad + Math.max(0, extraH)], [
          pad,
          pad + Math.max(0, extraW),
        ]];
        x = tfl.layers.zeroPadding2d({ padding, name: `${id}_pad` }).apply(x) as SymbolicTensor;
      }
      const cfg = {
        poolSize: l.size,
        strides: l.stride,
        padding: "valid" as const,
        name: `${id}_pool`,
      };
      x = (l.op === "max" ? tfl.layers.maxPooling2d(cfg) : tfl.layers.averagePooling2d(cfg)).apply(
        x,
      ) as SymbolicTensor;
      const got = x.shape.slice(1, 3);
      if (got[0] !== outH || got[1] !== outW) {
        throw new Error(
          `tfjsModel: ${l.name} gives ${got.join("x")} in tfjs but ${outH}x${outW} in the spec`,
        );
      }
      return { x, vol: [outH, outW, d] };
    }
    case "globalAvgPool": {
      const x = tfl.layers.globalAveragePooling2d({ name: id }).apply(ctx.x) as SymbolicTensor;
      return {
        x: tfl.layers.reshape({ targetShape: [1, 1, d], name: `${id}_r` }).apply(
          x,
        ) as SymbolicTensor,
        vol: [1, 1, d],
      };
    }
    case "fc": {
      let x = tfl.layers.flatten({ name: `${id}_flat` }).apply(ctx.x) as SymbolicTensor;
      x = tfl.layers.dense({
        units: l.units,
        useBias: l.bias !== false,
        activation: (l.relu ?? true) ? "relu" : "linear",
        name: id,
      }).apply(x) as SymbolicTensor;
      return {
        x: tfl.layers.reshape({ targetShape: [1, 1, l.units], name: `${id}_r` }).apply(
          x,
        ) as SymbolicTensor,
        vol: [1, 1, l.units],
      };
    }
    case "dropout":
      return {
        x: tfl.layers.dropout({ rate: l.rate ?? 0.5, name: id }).apply(ctx.x) as SymbolicTensor,
        vol: ctx.vol,
      };
    case "lrn":
      return ctx; // no LRN layer in tfjs-layers; it has no parameters, so counts are unchanged
    case "relu":
      return {
        x: tfl.layers.activation({ activation: "relu", name: id }).apply(ctx.x) as SymbolicTensor,
        vol: ctx.vol,
      };
    case "softmax": {
      if (!isLast) return ctx;
      if (logits) {
        // scores before softmax, flattened, for training with a softmax cross-entropy loss
        return {
          x: tfl.layers.reshape({ targetShape: [h * w * d], name: `${id}_logits` }).apply(
            ctx.x,
          ) as SymbolicTensor,
          vol: ctx.vol,
        };
      }
      // softmax over the depth at every position (one position after an FC layer, 19x19 for AlphaGo)
      const flat = tfl.layers.reshape({ targetShape: [h * w * d], name: `${id}_flat` }).apply(
        ctx.x,
      ) as SymbolicTensor;
      return { x: tfl.layers.softmax({ name: id }).apply(flat) as SymbolicTensor, vol: ctx.vol };
    }
    case "inception": {
      const o = { bn: l.bn, bias: l.bn ? false : undefined };
      const s5 = l.size5 ?? 5;
      const b1 = convBlock(ctx, `${l.name}_1x1`, l.c1, 1, 1, 1, 0, o);
      const b3 = convBlock(
        convBlock(ctx, `${l.name}_3r`, l.c3r, 1, 1, 1, 0, o),
        `${l.name}_3x3`,
        l.c3,
        3,
        3,
        1,
        1,
        o,
      );
      const b5 = convBlock(
        convBlock(ctx, `${l.name}_5r`, l.c5r, 1, 1, 1, 0, o),
        `${l.name}_5x5`,
        l.c5,
        s5,
        s5,
        1,
        (s5 - 1) / 2,
        o,
      );
      const pooled = tfl.layers.maxPooling2d({
        poolSize: 3,
        strides: 1,
        padding: "same",
        name: `${id}_pool`,
      }).apply(ctx.x) as SymbolicTensor;
      const bp = convBlock({ x: pooled, vol: ctx.vol }, `${l.name}_pp`, l.pool, 1, 1, 1, 0, o);
      const x = tfl.layers.concatenate({ axis: -1, name: `${id}_cat` }).apply([
        b1.x,
        b3.x,
        b5.x,
        bp.x,
      ]) as SymbolicTensor;
      return { x, vol: [h, w, l.c1 + l.c3 + l.c5 + l.pool] };
    }
    case "residual": {
      const o = { bn: true, bias: false };
      let y: Ctx;
      if (l.block === "basic") {
        y = convBlock(ctx, `${l.name}_c1`, l.filters, 3, 3, l.stride, 1, o);
        y = convBlock(y, `${l.name}_c2`, l.filters, 3, 3, 1, 1, { ...o, relu: false });
      } else {
        y = convBlock(ctx, `${l.name}_c1`, l.filters, 1, 1, 1, 0, o);
        y = convBlock(y, `${l.name}_c2`, l.filters, 3, 3, l.stride, 1, o);
        y = convBlock(y, `${l.name}_c3`, 4 * l.filters, 1, 1, 1, 0, { ...o, relu: false });
      }
      const skip = l.stride !== 1 || d !== y.vol[2]
        ? convBlock(ctx, `${l.name}_sc`, y.vol[2], 1, 1, l.stride, 0, { ...o, relu: false })
        : ctx;
      let x = tfl.layers.add({ name: `${id}_add` }).apply([y.x, skip.x]) as SymbolicTensor;
      x = tfl.layers.activation({ activation: "relu", name: `${id}_relu` }).apply(
        x,
      ) as SymbolicTensor;
      return { x, vol: y.vol };
    }
  }
}

/**
 * The spec as a tfjs `LayersModel` taking `[N, H, W, C]` inputs. Its parameter count is checked against
 * the spec's summary before it is returned. With `logits: true` a final softmax is left out (for training
 * with `trainTfjs`, whose loss applies it).
 *
 * @throws {RangeError} for layers tfjs-layers cannot build (grouped convolutions)
 */
export function tfjsModel(spec: ModelSpec, opts: { logits?: boolean } = {}): tfl.LayersModel {
  const input = tfl.input({ shape: [...spec.input], name: `${safe(spec.name)}_input_${++uid}` });
  let ctx: Ctx = { x: input, vol: spec.input };
  spec.layers.forEach((l, i) => ctx = apply(l, ctx, i === spec.layers.length - 1, opts.logits));
  const model = tfl.model({ inputs: input, outputs: ctx.x, name: safe(spec.name) });
  const expected = summarize(spec).totals.allParams;
  if (model.countParams() !== expected) {
    throw new Error(
      `tfjsModel: ${spec.name} has ${model.countParams()} parameters in tfjs but ${expected} in its summary`,
    );
  }
  return model;
}

/** What `forwardOnce` measured. */
export interface ForwardRun {
  backend: string;
  outputShape: number[];
  /** Milliseconds to build the model (weights initialized). */
  buildMs: number;
  /** Milliseconds for one forward pass of a batch of 1 (after the build). */
  forwardMs: number;
  /** Sum of the output (1 for a softmax output). */
  outputSum: number;
}

/**
 * Builds the spec's tfjs model, runs one image of seeded noise through it on the current backend, and
 * frees everything again.
 */
export async function forwardOnce(spec: ModelSpec, seed = 0): Promise<ForwardRun> {
  const t0 = performance.now();
  const model = tfjsModel(spec);
  const t1 = performance.now();
  const x = tf.randomNormal([1, ...spec.input], 0, 1, "float32", seed);
  const y = model.predict(x) as tf.Tensor;
  const data = await y.data();
  const t2 = performance.now();
  const run = {
    backend: tf.getBackend(),
    outputShape: [...y.shape],
    buildMs: t1 - t0,
    forwardMs: t2 - t1,
    outputSum: Array.from(data as Float32Array).reduce((s, v) => s + v, 0),
  };
  x.dispose();
  y.dispose();
  model.dispose();
  return run;
}
