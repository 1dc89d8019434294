/**
 * What a trained tfjs model says about one input: the class probabilities (softmax of the logits, or the
 * model's own softmax), the top-k classes, and the activation maps of each layer on the way.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { Tensor } from "../tensor.ts";
import { tf } from "../tf/backend.ts";
import { fromTf } from "../tf/convert.ts";
import { specLayerName } from "./tfjs.ts";

/** One class of a ranking: its label index, name and probability. */
export interface RankedClass {
  index: number;
  name: string;
  probability: number;
}

/**
 * The `k` most probable classes, most probable first (ties: the lower index first).
 *
 * @param probabilities one per class
 * @param names class names (default: the index as text)
 * @throws {RangeError} when `k` is not a whole number in 1 .. number of classes
 * @example
 * ```ts
 * import { topK } from "convkit/models/predict.ts";
 * import assert from "node:assert/strict";
 * const top = topK([0.1, 0.6, 0.3], 2, ["cat", "dog", "ship"]);
 * assert.deepEqual(top.map((c) => c.name), ["dog", "ship"]);
 * ```
 */
export function topK(
  probabilities: ArrayLike<number>,
  k: number,
  names?: readonly string[],
): RankedClass[] {
  const n = probabilities.length;
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) {
    throw new RangeError(`topK: k must be a whole number in 1 .. ${n} (the classes), got ${k}`);
  }
  return Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => probabilities[b] - probabilities[a] || a - b)
    .slice(0, k)
    .map((i) => ({ index: i, name: names?.[i] ?? String(i), probability: probabilities[i] }));
}

/** Whether a model ends in a softmax (probabilities) rather than logits. */
export function endsInSoftmax(model: tfl.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  return last.getClassName() === "Softmax" ||
    (last.getConfig() as { activation?: string }).activation === "softmax";
}

/**
 * Class probabilities of one input and its top `k` classes.
 *
 * @param input one normalized input, float32 `[H, W, C]` data (e.g. `imageToInput(...).input`)
 * @param names the class names, one per output
 * @throws {RangeError} when `input` is not the size of the model's input, or names do not match the outputs
 * @see ../../notebooks/17_cifar10_demo.ipynb
 */
export async function predictImage(
  model: tfl.LayersModel,
  input: Float32Array,
  names: readonly string[],
  k = 5,
): Promise<{ probabilities: Float32Array; top: RankedClass[] }> {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  if (input.length !== size) {
    throw new RangeError(
      `predictImage: the input has ${input.length} values, the model takes [${
        shape.join(", ")
      }] = ${size}`,
    );
  }
  const classes = model.outputs[0].shape.at(-1) as number;
  if (names.length !== classes) {
    throw new RangeError(`predictImage: ${names.length} class names for ${classes} outputs`);
  }
  const p = tf.tidy(() => {
    const out = model.predict(tf.tensor4d(input, [1, ...shape] as never)) as tf.Tensor;
    return endsInSoftmax(model) ? out : tf.softmax(out);
  });
  const probabilities = (await p.data()) as Float32Array;
  p.dispose();
  return { probabilities, top: topK(probabilities, Math.min(k, classes), names) };
}

/**
 * The output of each layer that `keep` selects (default: every Conv2D and pooling layer) for one input,
 * as kit tensors `[1, H, W, K]`, in the order of the layers, with the tfjs layer's `name` and, for a
 * model `tfjsModel` made, its spec layer's name `specName` (`conv1` for `conv1_3_conv`).
 *
 * @param input one normalized input, float32 `[H, W, C]` data
 * @see ../../notebooks/17_cifar10_demo.ipynb
 */
export async function layerActivations(
  model: tfl.LayersModel,
  input: Float32Array,
  keep: (layer: tfl.layers.Layer) => boolean = (l) =>
    /^(Conv2D|MaxPooling2D|AveragePooling2D)$/.test(l.getClassName()),
): Promise<{ name: string; specName: string; className: string; activation: Tensor }[]> {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const layers = model.layers.filter(keep);
  if (layers.length === 0) return [];
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: layers.map((l) => l.output as tfl.SymbolicTensor),
  });
  const x = tf.tensor4d(input, [1, ...shape] as never);
  const outs = sub.predict(x);
  x.dispose();
  const list = Array.isArray(outs) ? outs : [outs];
  const result = [];
  for (let i = 0; i < layers.length; i++) {
    result.push({
      name: layers[i].name,
      specName: specLayerName(layers[i].name),
      className: layers[i].getClassName(),
      activation: await fromTf(list[i]),
    });
  }
  tf.dispose(list);
  return result;
}
