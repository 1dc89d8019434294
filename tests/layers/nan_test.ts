import assert from "node:assert/strict";
import { affineForward } from "convkit/layers/affine.ts";
import { batchNormState, spatialBatchnormForward } from "convkit/layers/batchnorm.ts";
import { conv2dForward } from "convkit/layers/conv2d.ts";
import { conv2dForwardIm2col } from "convkit/layers/conv2d_im2col.ts";
import { avgPool2dForward, maxPool2dForward } from "convkit/layers/pool2d.ts";
import { reluForward } from "convkit/layers/relu.ts";
import { softmax, softmaxLoss } from "convkit/layers/softmax.ts";
import { randn, Rng } from "convkit/random.ts";
import type { Tensor } from "convkit/tensor.ts";

// NaN and infinities are never hidden by a teaching layer: an input with one NaN gives NaN where PyTorch
// gives NaN (the outputs whose computation reads it), and nowhere is it turned into a number.

const rng = new Rng(13);
function withNaN(shape: number[], at = 0): Tensor {
  const t = randn(shape, rng);
  t.data[at] = NaN;
  return t;
}
const hasNaN = (t: Tensor) => t.data.some(Number.isNaN);

const layers: [string, () => Tensor | number][] = [
  [
    "conv2dForward",
    () =>
      conv2dForward(withNaN([1, 4, 4, 2]), randn([3, 3, 2, 2], rng), randn([2], rng), {
        stride: 1,
        pad: 1,
      }).out,
  ],
  [
    "conv2dForwardIm2col",
    () =>
      conv2dForwardIm2col(withNaN([1, 4, 4, 2]), randn([3, 3, 2, 2], rng), randn([2], rng), {
        stride: 1,
        pad: 1,
      }).out,
  ],
  ["maxPool2dForward", () => maxPool2dForward(withNaN([1, 4, 4, 2]), { size: 2, stride: 2 }).out],
  ["avgPool2dForward", () => avgPool2dForward(withNaN([1, 4, 4, 2]), { size: 2, stride: 2 }).out],
  ["affineForward", () => affineForward(withNaN([2, 6]), randn([6, 3], rng), randn([3], rng)).out],
  ["reluForward", () => reluForward(withNaN([2, 6])).out],
  ["softmax", () => softmax(withNaN([2, 5]))],
  ["softmaxLoss", () => softmaxLoss(withNaN([2, 5]), Int32Array.from([1, 2])).loss],
  [
    "spatialBatchnormForward (train)",
    () =>
      spatialBatchnormForward(withNaN([2, 3, 3, 2]), randn([2], rng), randn([2], rng), {
        mode: "train",
        state: batchNormState(2),
      }).out,
  ],
];

for (const [name, run] of layers) {
  Deno.test(`${name}() keeps a NaN of its input in its output`, () => {
    const out = run();
    assert.ok(typeof out === "number" ? Number.isNaN(out) : hasNaN(out), `${name} hid the NaN`);
  });
}

Deno.test("maxPool2dForward() and reluForward() keep +Infinity, and a -Infinity window pools to -Infinity", () => {
  const x = { data: Float64Array.from([Infinity, 1, 2, 3]), shape: [1, 2, 2, 1] };
  assert.equal(maxPool2dForward(x, { size: 2, stride: 2 }).out.data[0], Infinity);
  assert.equal(reluForward(x).out.data[0], Infinity);
  const neg = { data: new Float64Array(4).fill(-Infinity), shape: [1, 2, 2, 1] };
  assert.equal(maxPool2dForward(neg, { size: 2, stride: 2 }).out.data[0], -Infinity);
});

Deno.test("the tfjs twins keep NaN too: maxPool2dForwardTf and threeLayerConvNetLossTf (tfjs's own max pool skips it)", async () => {
  const { setBackend } = await import("convkit/tf/backend.ts");
  const { maxPool2dForwardTf, threeLayerConvNetLossTf } = await import("convkit/tf/layers.ts");
  const { threeLayerConvNetInit } = await import("convkit/models/three_layer_convnet.ts");
  for (const backend of ["cpu", "wasm"] as const) {
    await setBackend(backend);
    const x = { data: Float64Array.from([1, NaN, 2, 3]), shape: [1, 2, 2, 1] };
    assert.ok(Number.isNaN(maxPool2dForwardTf(x, { size: 2, stride: 2 }).out.data[0]), backend);
    const p = threeLayerConvNetInit(
      { inputDim: [4, 4, 1], filters: 2, filterSize: 3, hidden: 3, classes: 2 },
      new Rng(1),
    );
    const img = withNaN([1, 4, 4, 1], 5);
    assert.ok(Number.isNaN(threeLayerConvNetLossTf(p, img, [0]).loss!), backend);
  }
  await setBackend("cpu");
});
