import assert from "node:assert/strict";
import * as tfl from "@tensorflow/tfjs-layers";
import { relError } from "convkit/compare.ts";
import { findCifar10Archive, loadCifar10 } from "convkit/data/cifar10.ts";
import {
  threeLayerConvNetInit,
  threeLayerConvNetLoss,
} from "convkit/models/three_layer_convnet.ts";
import { tfjsModel } from "convkit/models/tfjs.ts";
import { convnetjsCifar10 } from "convkit/models/zoo.ts";
import { randn, Rng } from "convkit/random.ts";
import { setBackend, tf } from "convkit/tf/backend.ts";
import { fromTf } from "convkit/tf/convert.ts";
import { registerFastGrads } from "convkit/tf/fast_grads.ts";
import { loadModel, saveModel } from "convkit/train/checkpoint.ts";
import { evaluate, seedWeights, type Split, trainTfjs } from "convkit/train/trainer.ts";
import { synthetic } from "./synthetic.ts";

registerFastGrads();

function smallNet() {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ],
  });
}

Deno.test("trainTfjs() is reproducible: the same seed gives the same loss curve", async () => {
  await setBackend("wasm");
  const data = synthetic(64, 1);
  const run = async () => {
    const model = smallNet();
    seedWeights(model, 7);
    const { history } = await trainTfjs(model, data, {
      epochs: 3,
      batchSize: 16,
      optimizer: { name: "adam", lr: 0.01 },
      seed: 11,
      augment: { cropPad: 1, flip: true },
    });
    model.dispose();
    return history.map((h) => h.loss);
  };
  const a = await run(), b = await run();
  assert.deepEqual(a, b);
  assert.ok(a[2] < a[0], `the loss should fall: ${a}`);
});

Deno.test("trainTfjs() keeps the best validation weights and applies its schedule and weight decay", async () => {
  await setBackend("wasm");
  const model = smallNet();
  seedWeights(model, 3);
  const val = synthetic(48, 2);
  const { history, best } = await trainTfjs(model, synthetic(96, 4), {
    epochs: 4,
    batchSize: 32,
    optimizer: { name: "momentum", lr: 0.05, momentum: 0.9, weightDecay: 1e-3 },
    schedule: { kind: "step", every: 2, factor: 10 },
    seed: 5,
    validation: val,
  });
  assert.deepEqual(history.map((h) => h.lr), [0.05, 0.05, 0.005, 0.005]);
  assert.ok(best);
  assert.equal(best.valAcc, Math.max(...history.map((h) => h.valAcc!)));
  assert.equal((await evaluate(model, val)).accuracy, best.valAcc); // the model holds the best epoch's weights
  model.dispose();
});

Deno.test("trainTfjs() refuses labels outside the model's classes", async () => {
  const model = smallNet();
  const data = synthetic(8, 1);
  (data.labels as Int32Array)[3] = 7;
  await assert.rejects(
    () =>
      trainTfjs(model, data, {
        epochs: 1,
        batchSize: 4,
        optimizer: { name: "sgd", lr: 0.1 },
        seed: 1,
      }),
    /label 7 of image 3 is not a class of the model \(whole numbers 0 \.\. 2\)/,
  );
  model.dispose();
});

Deno.test({
  name: "the ConvNetJS CIFAR-10 net overfits 100 training images to at least 99% training accuracy",
  ignore: findCifar10Archive() === undefined,
  fn: async () => {
    await setBackend("wasm");
    const split = await loadCifar10("test", { limit: 100 });
    const model = tfjsModel(convnetjsCifar10(), { logits: true });
    seedWeights(model, 1);
    const data: Split = {
      images: split.images,
      labels: split.labels,
      n: split.n,
      shape: [32, 32, 3],
    };
    const { history } = await trainTfjs(model, data, {
      epochs: 40,
      batchSize: 25,
      optimizer: { name: "adam", lr: 2e-3 },
      seed: 2,
    });
    const acc = (await evaluate(model, data)).accuracy;
    assert.ok(acc >= 0.99, `training accuracy ${acc} after ${history.length} epochs`);
    model.dispose();
  },
});

Deno.test("saveModel()/loadModel() round-trip a model through model.json and its weights file", async () => {
  await setBackend("wasm");
  const model = smallNet();
  seedWeights(model, 9);
  const dir = await Deno.makeTempDir();
  try {
    await saveModel(model, `${dir}/ckpt`);
    const names = [...Deno.readDirSync(`${dir}/ckpt`)].map((e) => e.name).sort();
    assert.equal(names.length, 2);
    assert.equal(names[0], "model.json");
    assert.match(names[1], /^weights-[0-9a-f]{16}\.bin$/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt"]); // no temporary folder left
    const loaded = await loadModel(`${dir}/ckpt`);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 3);
    const a = await fromTf(model.predict(x) as tf.Tensor),
      b = await fromTf(loaded.predict(x) as tf.Tensor);
    assert.deepEqual(a.data, b.data);
    loaded.dispose();
    x.dispose();
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the teaching ThreeLayerConvNet and its tfjs twin agree on the loss and gradients with the same weights", async () => {
  await setBackend("cpu");
  const rng = new Rng(8);
  const p = threeLayerConvNetInit({
    inputDim: [8, 8, 3],
    filters: 4,
    filterSize: 3,
    hidden: 6,
    classes: 5,
    weightScale: 0.3,
  }, rng);
  const x = randn([3, 8, 8, 3], rng), y = [0, 4, 2];
  const { loss, grads } = threeLayerConvNetLoss(p, x, y);
  const twin = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 6, activation: "relu" }),
      tfl.layers.dense({ units: 5 }),
    ],
  });
  const t = (a: { data: Float64Array; shape: readonly number[] }) =>
    tf.tensor(Float32Array.from(a.data), [...a.shape]);
  twin.setWeights([t(p.W1), t(p.b1), t(p.W2), t(p.b2), t(p.W3), t(p.b3)]);
  const xt = t(x), yt = tf.oneHot(tf.tensor1d(y, "int32"), 5);
  const { value, grads: tg } = tf.variableGrads(() =>
    tf.losses.softmaxCrossEntropy(yt, twin.apply(xt) as tf.Tensor) as tf.Scalar
  );
  assert.ok(Math.abs((await value.data())[0] - loss!) / loss! < 1e-5);
  const byName = (part: string) => Object.entries(tg).find(([k]) => k.includes(part))![1];
  const names = twin.trainableWeights.map((w) => w.originalName ?? w.name);
  const order = ["W1", "b1", "W2", "b2", "W3", "b3"] as const;
  for (let i = 0; i < order.length; i++) {
    const e = relError(await fromTf(byName(names[i])), grads![order[i]]);
    assert.ok(e < 1e-4, `${order[i]}: relative error ${e}`);
  }
  twin.dispose();
});

Deno.test("evaluate({ flip: true }) averages the probabilities of each image and its mirror image", async () => {
  // images of 1x2 pixels [a, b]; the net's logits are (2a, b). By hand, for [1, 0]: softmax(2, 0) =
  // (0.881, 0.119), mirrored softmax(0, 1) = (0.269, 0.731), mean (0.575, 0.425): class 0, as without
  // flipping. For [0, 1]: class 1 alone (0.269, 0.731), mirrored (0.881, 0.119), mean: class 0.
  const data: Split = {
    images: new Uint8Array([255, 0, 0, 255]),
    labels: new Uint8Array([0, 1]),
    n: 2,
    shape: [1, 2, 1],
  };
  for (const activation of ["linear", "softmax"] as const) {
    const model = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [1, 2, 1] }),
        tfl.layers.dense({ units: 2, useBias: false, activation }),
      ],
    });
    model.layers[1].setWeights([tf.tensor2d([[2, 0], [0, 1]])]);
    assert.deepEqual([...(await evaluate(model, data)).predictions], [0, 1]);
    const flipped = await evaluate(model, data, { flip: true });
    assert.deepEqual([...flipped.predictions], [0, 0], activation);
    assert.equal(flipped.accuracy, 0.5);
    model.dispose();
  }
});

Deno.test("trainTfjs() trains after an interrupted step left tfjs's scopes and gradient tape open", async () => {
  await setBackend("cpu");
  const model = smallNet();
  seedWeights(model, 3);
  // what Jupyter's Interrupt leaves behind when it stops a cell inside optimizer.minimize()
  const engine = tf.engine() as unknown as {
    startScope(): void;
    startTape(): void;
    state: { scopeStack: unknown[]; gradientDepth: number };
  };
  engine.startScope();
  engine.startTape();
  const data = synthetic(8, 5);
  const w0 = [...model.getWeights()[0].dataSync()];
  const { history } = await trainTfjs(model, data, {
    epochs: 1,
    batchSize: 4,
    optimizer: { name: "sgd", lr: 0.1 },
    seed: 1,
  });
  assert.ok(Number.isFinite(history[0].loss));
  assert.notDeepEqual([...model.getWeights()[0].dataSync()], w0);
  assert.equal(engine.state.scopeStack.length, 0);
  assert.equal(engine.state.gradientDepth, 0);
  model.dispose();
});
