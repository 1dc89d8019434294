import assert from "node:assert/strict";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  inputField,
  patchOf,
  type ReceptiveField,
  receptiveFields,
  receptiveFieldsOfModel,
  samePadBefore,
  stackWindow,
} from "convkit/models/receptive_field.ts";
import { tfjsModel } from "convkit/models/tfjs.ts";
import {
  alexnet,
  convnetjsCifar10,
  googlenet,
  lenet5,
  resnet,
  smallNet,
  vgg16,
} from "convkit/models/zoo.ts";
import { tf } from "convkit/tf/backend.ts";

// Expected values are derived by hand from the recurrence r += (k - 1) j, j *= s,
// start += ((k - 1) / 2 - p) j, or quoted from Araujo, Norris & Sim (Distill 2019), table 1.

const brief = (f: ReceptiveField) => [f.size[0], f.jump[0], f.start[0]];

Deno.test("stackWindow() gives 3, 5, 7 for three 3x3 convs at stride 1 (VGG's argument)", () => {
  let f = inputField(15, 15);
  const sizes = [];
  for (let i = 0; i < 3; i++) {
    f = stackWindow(f, `conv${i}`, [3, 3], [1, 1], [1, 1], [15, 15]);
    sizes.push(f.size[0]);
  }
  assert.deepEqual(sizes, [3, 5, 7]);
  assert.deepEqual(f.jump, [1, 1]);
  assert.deepEqual(f.start, [0, 0]); // pad 1 keeps every field centred on its unit
});

Deno.test("receptiveFields() gives LeNet-5's C1 5, S2 6, C3 14, S4 16, C5 32 (the whole 32x32 input)", () => {
  const f = receptiveFields(lenet5());
  assert.deepEqual(f.map((x) => x.name), ["C1", "S2", "C3", "S4", "C5"]);
  // C1: 5, j 1, centre 2; S2: 5 + 1, j 2, 2 + 0.5; C3: 6 + 4*2, 2.5 + 2*2; S4: 14 + 2, j 4, 6.5 + 1;
  // C5: 16 + 4*4, 7.5 + 2*4
  assert.deepEqual(f.map(brief), [[5, 1, 2], [6, 2, 2.5], [14, 2, 6.5], [16, 4, 7.5], [
    32,
    4,
    15.5,
  ]]);
  assert.deepEqual(f.map((x) => x.output[0]), [28, 14, 10, 5, 1]);
  assert.deepEqual(patchOf(f[4], 0, 0), { top: 0, left: 0, height: 32, width: 32 });
});

Deno.test("receptiveFields() gives AlexNet's CONV1 11 at jump 4 and POOL3 195, VGG16's POOL5 212 (Araujo et al.)", () => {
  const a = receptiveFields(alexnet());
  assert.deepEqual(brief(a[0]), [11, 4, 5]);
  assert.deepEqual(brief(a[1]), [19, 8, 9]); // POOL1 3x3/2: 11 + 2*4
  assert.equal(a.at(-1)!.size[0], 195);
  assert.equal(a.at(-1)!.jump[0], 32);
  const v = receptiveFields(vgg16());
  assert.equal(v.at(-1)!.name, "POOL5");
  assert.equal(v.at(-1)!.size[0], 212);
  assert.equal(v.at(-1)!.jump[0], 32);
});

Deno.test("receptiveFieldsOfModel() of a tfjs model agrees with the spec's fields (ConvNetJS net: 5, 14, 32)", () => {
  for (const spec of [convnetjsCifar10(), lenet5(), smallNet({ allConv: true })]) {
    const model = tfjsModel(spec);
    const fromModel = receptiveFieldsOfModel(model);
    const fromSpec = receptiveFields(spec);
    assert.deepEqual(fromModel.map(brief), fromSpec.map(brief), spec.name);
    assert.deepEqual(fromModel.map((f) => f.output), fromSpec.map((f) => f.output), spec.name);
    model.dispose();
  }
  // conv 5x5 pad 2: 5, centre 0; pool: 6, j 2, 0.5; conv: 6 + 4*2 = 14; pool: 16, j 4, 1.5; conv: 32
  const convs = receptiveFields(convnetjsCifar10()).filter((f) => f.name.startsWith("conv"));
  assert.deepEqual(convs.map(brief), [[5, 1, 0], [14, 2, 0.5], [32, 4, 1.5]]);
});

Deno.test("samePadBefore() pads as TensorFlow: nothing before the first row for 3x3 stride 2 on 8", () => {
  // out = 4; total pad = (4 - 1) * 2 + 3 - 8 = 1, all of it after the last row
  assert.equal(samePadBefore(8, 3, 2), 0);
  assert.equal(samePadBefore(7, 3, 2), 1); // out 4: (3 * 2 + 3 - 7) = 2, one before
  assert.equal(samePadBefore(32, 5, 1), 2);
});

/** Rows and columns of the input that reach unit (y, x, 0) of a linear model's output (by gradient). */
async function gradientSupport(model: tfl.LayersModel, size: number, y: number, x: number) {
  const input = tf.ones([1, size, size, 1]);
  const g = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.slice(model.apply(t) as tf.Tensor, [0, y, x, 0], [1, 1, 1, 1]))
  )(input);
  const data = await g.data();
  tf.dispose([input, g]);
  const rows = new Set<number>(), cols = new Set<number>();
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      if (data[i * size + j] !== 0) {
        rows.add(i);
        cols.add(j);
      }
    }
  }
  return { rows: [...rows].sort((a, b) => a - b), cols: [...cols].sort((a, b) => a - b) };
}

Deno.test("patchOf() is the set of input pixels whose gradient reaches the unit, inside and at the borders", async () => {
  // linear layers with positive weights: the input gradient is non-zero exactly on the receptive field
  const size = 40;
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [size, size, 1],
        filters: 1,
        kernelSize: 5,
        padding: "same",
        kernelInitializer: "ones",
        useBias: false,
      }),
      tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.zeroPadding2d({ padding: 1 }),
      tfl.layers.conv2d({ filters: 1, kernelSize: 3, kernelInitializer: "ones", useBias: false }),
      tfl.layers.conv2d({
        filters: 1,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        kernelInitializer: "ones",
        useBias: false,
      }),
    ],
  });
  const fields = receptiveFieldsOfModel(model);
  assert.deepEqual(fields.map((f) => f.size[0]), [5, 6, 10, 14]);
  const last = fields.at(-1)!;
  assert.deepEqual(last.output, [10, 10]);
  for (const [y, x] of [[0, 0], [4, 6], [9, 9], [0, 9]]) {
    const p = patchOf(last, y, x);
    const { rows, cols } = await gradientSupport(model, size, y, x);
    const clip = (a: number, n: number) =>
      Array.from({ length: n }, (_, i) => a + i).filter((v) => v >= 0 && v < size);
    assert.deepEqual(rows, clip(p.top, p.height), `unit (${y}, ${x}) rows`);
    assert.deepEqual(cols, clip(p.left, p.width), `unit (${y}, ${x}) cols`);
  }
  model.dispose();
});

Deno.test("receptiveFieldsOfModel() refuses a model that is not a chain", () => {
  const input = tfl.input({ shape: [8, 8, 1] });
  const a = tfl.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same" }).apply(input);
  const b = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(input);
  const sum = tfl.layers.add().apply([a, b] as tfl.SymbolicTensor[]) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: sum });
  assert.throws(() => receptiveFieldsOfModel(model), /not a chain/);
  model.dispose();
});

Deno.test("patchOf() refuses a unit outside the layer's output", () => {
  const f = stackWindow(inputField(8, 8), "conv", [3, 3], [1, 1], [0, 0], [6, 6]);
  assert.throws(() => patchOf(f, 6, 0), RangeError);
  assert.throws(() => stackWindow(f, "bad", [0, 3], [1, 1], [0, 0], [1, 1]), RangeError);
});

Deno.test("receptiveFields() counts a residual block's conv path and an Inception module's widest branch", () => {
  const r = receptiveFields(resnet(18));
  // conv1 7x7/2: 7, j 2; pool 3x3/2: 7 + 2*2 = 11, j 4; conv2_1, two 3x3 at j 4: 11 + 8 + 8 = 27
  assert.deepEqual(r.slice(0, 3).map((f) => [f.name, f.size[0], f.jump[0]]), [
    ["conv1 7x7/2", 7, 2],
    ["pool 3x3/2", 11, 4],
    ["conv2_1", 27, 4],
  ]);
  // conv3_1: 3x3 stride 2 at j 4 (+8, j 8), then 3x3 at j 8 (+16): 43 + 24 = 67
  assert.equal(r.find((f) => f.name === "conv3_1")!.size[0], 67);
  const g = receptiveFields(googlenet());
  const pool2 = g.find((f) => f.name === "pool2 3x3/2")!,
    a3 = g.find((f) => f.name === "inception 3a")!;
  // conv1 7, pool1 +2*2 = 11 (j 4), conv2 1x1 11, 3x3 +2*4 = 19, pool2 +2*4 = 27 (j 8); the 5x5 branch adds 4*8
  assert.deepEqual([pool2.size[0], pool2.jump[0]], [27, 8]);
  assert.deepEqual([a3.size[0], a3.jump[0]], [59, 8]);
  assert.deepEqual(a3.output, [28, 28]);
});
