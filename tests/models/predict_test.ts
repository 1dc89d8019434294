import assert from "node:assert/strict";
import { layerActivations, predictImage, topK } from "convkit/models/predict.ts";
import { tfjsModel } from "convkit/models/tfjs.ts";
import { setBackend, tf } from "convkit/tf/backend.ts";

await setBackend("cpu");

Deno.test("topK() ranks by probability, most probable first, ties by the lower index", () => {
  const p = [0.05, 0.3, 0.1, 0.3, 0.05, 0.2];
  const top = topK(p, 5, ["a", "b", "c", "d", "e", "f"]);
  assert.deepEqual(top.map((c) => c.name), ["b", "d", "f", "c", "a"]);
  assert.deepEqual(top.map((c) => c.probability), [0.3, 0.3, 0.2, 0.1, 0.05]);
  assert.deepEqual(topK([1, 2], 1).map((c) => [c.index, c.name]), [[1, "1"]]);
  assert.throws(() => topK(p, 7), /k must be a whole number in 1 \.\. 6/);
  assert.throws(() => topK(p, 0), RangeError);
});

/** A 1x1x2 input, fc to 3 logits, with weights set by hand. */
function tiny() {
  const model = tfjsModel({
    name: "tiny",
    input: [1, 1, 2],
    layers: [{ kind: "fc", name: "fc", units: 3 }],
  }, { logits: true });
  // logits = x W + b with W = [[1, 0, -1], [2, 1, 0]], b = [0, 0, 1]
  model.setWeights([tf.tensor2d([[1, 0, -1], [2, 1, 0]]), tf.tensor1d([0, 0, 1])]);
  return model;
}

Deno.test("predictImage() gives the softmax of the logits and the top classes", async () => {
  const model = tiny();
  try {
    // x = (1, 1): logits (3, 1, 0); softmax = e^l / (e^3 + e^1 + e^0)
    const { probabilities, top } = await predictImage(model, new Float32Array([1, 1]), [
      "cat",
      "dog",
      "ship",
    ], 2);
    const z = Math.exp(3) + Math.exp(1) + 1;
    [Math.exp(3) / z, Math.exp(1) / z, 1 / z].forEach((want, i) =>
      assert.ok(Math.abs(probabilities[i] - want) < 1e-6, `${i}: ${probabilities[i]} vs ${want}`)
    );
    assert.deepEqual(top.map((c) => c.name), ["cat", "dog"]);
    await assert.rejects(
      () => predictImage(model, new Float32Array(3), ["a", "b", "c"]),
      /the input has 3 values, the model takes \[1, 1, 2\] = 2/,
    );
    await assert.rejects(
      () => predictImage(model, new Float32Array(2), ["a", "b"]),
      /2 class names for 3 outputs/,
    );
  } finally {
    model.dispose();
  }
});

Deno.test("layerActivations() returns each conv and pool output [1, H, W, K] in layer order", async () => {
  const model = tfjsModel({
    name: "small",
    input: [8, 8, 3],
    layers: [
      { kind: "conv", name: "conv1", filters: 4, size: 3, pad: 1 },
      { kind: "pool", name: "pool1", op: "max", size: 2, stride: 2 },
      { kind: "conv", name: "conv2", filters: 5, size: 3 },
      { kind: "fc", name: "fc", units: 2 },
    ],
  }, { logits: true });
  try {
    const acts = await layerActivations(model, new Float32Array(8 * 8 * 3).fill(1));
    assert.deepEqual(acts.map((a) => a.specName), ["conv1", "pool1", "conv2"]);
    assert.deepEqual(acts.map((a) => [a.className, a.activation.shape]), [
      ["Conv2D", [1, 8, 8, 4]],
      ["MaxPooling2D", [1, 4, 4, 4]],
      ["Conv2D", [1, 2, 2, 5]],
    ]);
    // conv + ReLU: no activation below 0
    assert.ok(acts[0].activation.data.every((v) => v >= 0));
  } finally {
    model.dispose();
  }
});
