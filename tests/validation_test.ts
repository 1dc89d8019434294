import assert from "node:assert/strict";
import { loadMnist } from "convkit/data/mnist.ts";
import { checkSplit } from "convkit/data/split.ts";
import { summarize } from "convkit/models/summary.ts";
import { convUnit } from "convkit/models/summary.ts";
import { convLayerCounts } from "convkit/models/counts.ts";
import { windowOut } from "convkit/models/spec.ts";
import { tfjsModel } from "convkit/models/tfjs.ts";
import { checkOptimizer } from "convkit/train/optim.ts";
import { evaluate, trainTfjs } from "convkit/train/trainer.ts";
import { trainTeaching } from "convkit/train/teaching_trainer.ts";

// Bad input at the public entries of training and model arithmetic: each row is one call that must be
// refused, with the kit's error class and a message that names the argument and the value.

const split = (labels: number[], n = labels.length) => ({
  images: new Uint8Array(n * 4 * 4),
  labels,
  n,
  shape: [4, 4, 1] as const,
});
const model = tfjsModel({
  name: "tiny",
  input: [4, 4, 1],
  layers: [{ kind: "fc", name: "fc", units: 3 }, { kind: "softmax", name: "softmax" }],
});
const train = (opts: Record<string, unknown>, s = split([0, 1, 2, 1])) =>
  trainTfjs(
    model,
    s,
    { epochs: 1, batchSize: 2, optimizer: { name: "sgd", lr: 0.1 }, ...opts } as never,
  );

const cases: [string, () => unknown, RegExp][] = [
  [
    "trainTfjs label 1.5",
    () => train({}, split([0, 1.5, 2, 1])),
    /train label 1\.5 of image 1 is not a class/,
  ],
  [
    "trainTfjs label 3 of 3 classes",
    () => train({}, split([0, 3])),
    /train label 3 of image 1 .* 0 \.\. 2/,
  ],
  [
    "trainTfjs lr -1",
    () => train({ optimizer: { name: "sgd", lr: -1 } }),
    /optimizer\.lr must be a number > 0, got -1/,
  ],
  [
    "trainTfjs lr NaN",
    () => train({ optimizer: { name: "adam", lr: NaN } }),
    /optimizer\.lr .* got NaN/,
  ],
  [
    "trainTfjs momentum 1",
    () => train({ optimizer: { name: "momentum", lr: 0.1, momentum: 1 } }),
    /momentum must be a number in \[0, 1\)/,
  ],
  [
    "trainTfjs unknown optimizer",
    () => train({ optimizer: { name: "adamw", lr: 0.1 } }),
    /unknown optimizer "adamw"; the kit has sgd, momentum, rmsprop, adam/,
  ],
  ["trainTfjs empty set", () => train({}, split([], 0)), /the train split is empty \(n = 0\)/],
  [
    "trainTfjs epochs 1.5",
    () => train({ epochs: 1.5 }),
    /epochs must be a whole number >= 1, got 1\.5/,
  ],
  [
    "trainTfjs batchSize 0",
    () => train({ batchSize: 0 }),
    /batchSize must be a whole number >= 1, got 0/,
  ],
  ["trainTfjs bad validation", () => train({ validation: split([7]) }), /validation label 7/],
  [
    "trainTfjs images of another size",
    () => train({}, { ...split([0, 1]), images: new Uint8Array(5) }),
    /5 image bytes, expected n \* H \* W \* C/,
  ],
  [
    "trainTfjs step schedule with factor -1",
    () => train({ schedule: { kind: "step", every: 1, factor: -1 } }),
    /schedule\.factor must be a number >= 1/,
  ],
  [
    "trainTfjs cosine minLr above the rate",
    () => train({ schedule: { kind: "cosine", epochs: 2, minLr: 5 } }),
    /schedule\.minLr must be a number in \[0, 0\.1\)/,
  ],
  [
    "trainTfjs unknown schedule",
    () => train({ schedule: { kind: "warmup" } }),
    /unknown schedule "warmup"/,
  ],
  [
    "trainTfjs maxBatchesPerEpoch 0",
    () => train({ maxBatchesPerEpoch: 0 }),
    /maxBatchesPerEpoch must be a whole number >= 1, got 0/,
  ],
  [
    "trainTfjs cropPad 0.5",
    () => train({ augment: { cropPad: 0.5 } }),
    /augment\.cropPad must be a whole number of pixels >= 0, got 0\.5/,
  ],
  [
    "trainTfjs stats of 3 channels for 1",
    () => train({ stats: { mean: [0, 0, 0], std: [1, 1, 1] } }),
    /stats must hold 1 finite means/,
  ],
  [
    "evaluate batchSize 0.5",
    () => evaluate(model, split([0, 1]), { batchSize: 0.5 }),
    /evaluate: batchSize must be a whole number >= 1, got 0\.5/,
  ],
  [
    "evaluate labels outside the classes",
    () => evaluate(model, split([0, 9])),
    /evaluated label 9 of image 1/,
  ],
  [
    "trainTeaching lr 0",
    () =>
      trainTeaching(
        {},
        () => ({ loss: 0, grads: {} }) as never,
        split([0]),
        { epochs: 1, batchSize: 1, optimizer: { name: "sgd", lr: 0 } } as never,
      ),
    /trainTeaching: optimizer\.lr must be a number > 0, got 0/,
  ],
  [
    "trainTeaching negative label",
    () =>
      trainTeaching(
        {},
        () => ({ loss: 0, grads: {} }) as never,
        split([-1]),
        { epochs: 1, batchSize: 1, optimizer: { name: "sgd", lr: 1 } } as never,
      ),
    /train label -1/,
  ],
  [
    "checkSplit labels shorter than n",
    () => checkSplit("f", "train", { ...split([0]), n: 2, images: new Uint8Array(32) }, 3),
    /1 labels for 2 images/,
  ],
  [
    "checkOptimizer epsilon 0",
    () => checkOptimizer("f", { name: "adam", lr: 1, epsilon: 0 }),
    /optimizer\.epsilon must be a number > 0, got 0/,
  ],
  [
    "convUnit -5 filters",
    () => convUnit("conv", [8, 8, 3], -5, 3, 3, 1, 1),
    /conv: filters must be a whole number >= 1, got -5/,
  ],
  [
    "convUnit 2.5 groups",
    () => convUnit("conv", [8, 8, 4], 4, 3, 3, 1, 1, { groups: 2.5 }),
    /groups must be a whole number >= 1, got 2\.5/,
  ],
  [
    "convLayerCounts -5 filters",
    () => convLayerCounts("conv", [8, 8, 3], -5, 3, 3, 1, 1),
    /conv: filters must be a whole number >= 1, got -5/,
  ],
  [
    "convLayerCounts stride 0",
    () => convLayerCounts("conv", [8, 8, 3], 4, 3, 3, 0, 1),
    /conv: stride must be a whole number >= 1, got 0/,
  ],
  [
    "windowOut stride 0",
    () => windowOut(8, 3, 0, 0, false, "pool"),
    /pool: stride size must be a whole number >= 1, got 0/,
  ],
  [
    "windowOut pad -1",
    () => windowOut(8, 3, 1, -1, false, "pool"),
    /pad must be a whole number >= 0 or "same", got -1/,
  ],
  [
    "summarize input 8.5 high",
    () =>
      summarize({ name: "x", input: [8.5, 8, 3], layers: [{ kind: "fc", name: "fc", units: 2 }] }),
    /input must be \[H, W, C\] of whole numbers >= 1/,
  ],
  [
    "summarize fc of 0 units",
    () =>
      summarize({ name: "x", input: [8, 8, 3], layers: [{ kind: "fc", name: "fc", units: 0 }] }),
    /fc: units must be a whole number >= 1, got 0/,
  ],
  [
    "summarize no layers",
    () => summarize({ name: "x", input: [8, 8, 3], layers: [] }),
    /x has no layers/,
  ],
  [
    "loadMnist testFraction -0.2",
    () => loadMnist({ testFraction: -0.2 }),
    /testFraction must be a number in \(0, 1\), got -0\.2/,
  ],
  [
    "loadMnist pad 1.5",
    () => loadMnist({ pad: 1.5 }),
    /pad must be a whole number of pixels >= 0, got 1\.5/,
  ],
  [
    "summarize unknown layer kind",
    () =>
      summarize({
        name: "x",
        input: [8, 8, 3],
        layers: [{ kind: "attention", name: "att" } as never],
      }),
    /layer att has the unknown kind "attention"; the kinds are conv, pool/,
  ],
];

for (const [name, call, message] of cases) {
  Deno.test(`bad input is refused: ${name}`, async () => {
    await assert.rejects(async () => await call(), (e: Error) => {
      assert.ok(e instanceof RangeError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
  });
}

Deno.test("the table of refused inputs covers training, evaluation and the model arithmetic", () => {
  assert.ok(cases.length >= 20, String(cases.length));
});

Deno.test("figures refuse what they would hide: a NaN in a tile, a ragged or NaN heatmap; sizes beyond 2^24 are refused", async () => {
  const { tile } = await import("convkit/plot/images.ts");
  const { heatmap } = await import("convkit/plot/charts.ts");
  const { convOutputSize } = await import("convkit/lecture.ts");
  assert.throws(() => tile([0, NaN, 1, 1], 2, 2, 1), /tile: value 1 is NaN: it cannot be drawn/);
  assert.throws(() => tile([0, 1], 2, 2, 1), /2 values for a 2x2x1 tile \(4\)/);
  await assert.rejects(() => heatmap([[1, 2], [3]]), /row 1 has 1 values, row 0 has 2/);
  await assert.rejects(() => heatmap([[1, NaN]]), /cell \[0, 1\] is NaN/);
  assert.throws(() => convOutputSize(8, 3, 1, 1e9), /beyond what the kit computes/);
});
