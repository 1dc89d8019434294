import assert from "node:assert/strict";
import { summarize } from "convkit/models/summary.ts";
import type { ModelSpec } from "convkit/models/spec.ts";
import { tfjsModel } from "convkit/models/tfjs.ts";
import {
  alexnet,
  alphaGoPolicy,
  googlenet,
  lenet5,
  resnet,
  smallNet,
  vgg16,
  zfnet,
} from "convkit/models/zoo.ts";

// Reference counts and shapes from PyTorch: torchvision's models, and torch.nn builds of the papers
// (tests/fixtures/make_model_counts.py).
const ref =
  JSON.parse(Deno.readTextFileSync(new URL("../fixtures/model_counts.json", import.meta.url)))
    .models;

const cases: [string, () => ModelSpec][] = [
  ["lenet5", lenet5],
  ["alexnet", () => alexnet()],
  ["alexnetTwoGpus", () => alexnet({ twoGpus: true })],
  ["zfnet", zfnet],
  ["vgg16", vgg16],
  ["googlenet", () => googlenet()],
  ["googlenetTorchvision", () => googlenet({ variant: "torchvision" })],
  ["resnet18", () => resnet(18)],
  ["resnet34", () => resnet(34)],
  ["resnet50", () => resnet(50)],
  ["resnet101", () => resnet(101)],
  ["resnet152", () => resnet(152)],
  ["alphago", alphaGoPolicy],
];

for (const [key, make] of cases) {
  Deno.test(`summarize(${key}) counts the parameters of the PyTorch reference (${ref[key].params.toLocaleString("en-US")})`, () => {
    const s = summarize(make());
    assert.equal(s.totals.params, ref[key].params);
    if (ref[key].shapes) {
      const mine = s.rows.filter((r) => r.kind === "conv" || r.kind === "pool" || r.kind === "fc")
        .map((r) => [...r.output]);
      assert.deepEqual(mine, ref[key].shapes);
    }
    if (ref[key].final) assert.deepEqual([...s.rows[s.rows.length - 1].output], ref[key].final);
  });
}

Deno.test("summarize() gives the published totals: VGG16 138,357,544, ResNet-50 25,557,032", () => {
  assert.equal(summarize(vgg16()).totals.params, 138_357_544);
  assert.equal(summarize(resnet(50)).totals.params, 25_557_032);
});

Deno.test("summarize(vgg16) puts 102,760,448 weights in FC6 and sums the lecture's per-layer activations", () => {
  const s = summarize(vgg16());
  assert.equal(s.rows.find((r) => r.name === "FC6")!.weights, 102_760_448); // 7*7*512*4096
  // the lecture's own table, layer by layer: INPUT, CONV3-64 x2, POOL, CONV3-128 x2, POOL, CONV3-256 x3, POOL,
  // CONV3-512 x3, POOL, CONV3-512 x3, POOL, FC 4096, FC 4096, FC 1000
  const lecture = 224 * 224 * 3 + 2 * 224 * 224 * 64 + 112 * 112 * 64 + 2 * 112 * 112 * 128 +
    56 * 56 * 128 +
    3 * 56 * 56 * 256 + 28 * 28 * 256 + 3 * 28 * 28 * 512 + 14 * 14 * 512 + 3 * 14 * 14 * 512 +
    7 * 7 * 512 +
    4096 + 4096 + 1000;
  assert.equal(s.totals.activations, lecture);
  assert.equal(lecture, 15_237_608); // not the slide's "24M": cs231n/cs231n.github.io#88
  assert.equal(s.totals.forwardBytes, 4 * lecture);
});

Deno.test("summarize(alexnet) gives CONV1 55x55x96 with 34,848 weights + 96 biases and POOL1 27x27x96 with none", () => {
  const rows = summarize(alexnet()).rows;
  const conv1 = rows.find((r) => r.name === "CONV1")!,
    pool1 = rows.find((r) => r.name === "POOL1")!;
  assert.deepEqual([...conv1.output], [55, 55, 96]);
  assert.equal(conv1.weights, 11 * 11 * 3 * 96);
  assert.equal(conv1.weights, 34_848);
  assert.equal(conv1.biases, 96);
  assert.deepEqual([...pool1.output], [27, 27, 96]);
  assert.equal(pool1.weights + pool1.biases, 0);
});

Deno.test("summarize(lenet5) gives C1 28x28x6 and S2 14x14x6; alphaGoPolicy keeps 19x19 to the end", () => {
  const rows = summarize(lenet5()).rows;
  assert.deepEqual([...rows[1].output], [28, 28, 6]);
  assert.deepEqual([...rows[2].output], [14, 14, 6]);
  const go = summarize(alphaGoPolicy()).rows;
  assert.ok(go.slice(1).every((r) => r.output[0] === 19 && r.output[1] === 19));
  assert.deepEqual([...go[go.length - 1].output], [19, 19, 1]);
});

Deno.test("summarize(resnet) reaches 56x56 after conv1 and the pool; resnet() refuses other depths", () => {
  assert.deepEqual([...summarize(resnet(50)).rows[2].output], [56, 56, 64]);
  assert.throws(() => resnet(20 as 18), /18, 34, 50, 101 or 152/);
});

for (
  const [name, make] of [
    ["lenet5", lenet5],
    ["alphaGoPolicy", alphaGoPolicy],
    ["resnet18", () => resnet(18)],
    ["googlenet paper", () => googlenet()],
    [
      "googlenet torchvision",
      () => googlenet({ variant: "torchvision" }),
    ],
    ["smallNet", () => smallNet()],
    ["smallNet allConv", () => smallNet({ allConv: true })],
  ] as const
) {
  Deno.test(`tfjsModel(${name}).countParams() equals the summary (trainable + batch-norm statistics)`, () => {
    const spec = make();
    const model = tfjsModel(spec);
    const s = summarize(spec);
    assert.equal(model.countParams(), s.totals.allParams);
    assert.deepEqual(
      model.outputs[0].shape.slice(1).reduce((a, b) => a! * b!, 1),
      s.rows.at(-1)!.output.reduce((a, b) => a * b, 1),
    );
    model.dispose();
  });
}

Deno.test("tfjsModel() refuses AlexNet's grouped convolutions, which tfjs-layers cannot build", () => {
  assert.throws(() => tfjsModel(alexnet({ twoGpus: true })), /no grouped convolution/);
});

Deno.test("tfjsModel() rounds pools up as Caffe does: 13 -> 6 and 112 -> 56 with 3x3 windows at stride 2", () => {
  for (const [n, want] of [[13, 6], [112, 56]]) {
    const spec: ModelSpec = {
      name: `pool${n}`,
      input: [n, n, 2],
      layers: [{ kind: "pool", name: "pool", op: "max", size: 3, stride: 2, ceil: true }],
    };
    assert.deepEqual([...summarize(spec).rows[1].output], [want, want, 2]);
    const model = tfjsModel(spec);
    assert.deepEqual(model.outputs[0].shape, [null, want, want, 2]);
    model.dispose();
  }
});
