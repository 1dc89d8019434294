import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { numericGradientScalar } from "convkit/gradcheck.ts";
import {
  threeLayerConvNetInit,
  threeLayerConvNetLoss,
} from "convkit/models/three_layer_convnet.ts";
import { randLabels, randn, Rng } from "convkit/random.ts";

Deno.test("threeLayerConvNetLoss() gradients match numeric gradients, with L2 regularization", () => {
  const rng = new Rng(6);
  const params = threeLayerConvNetInit(
    { inputDim: [6, 6, 2], filters: 3, filterSize: 3, hidden: 7, classes: 4, weightScale: 0.5 },
    rng,
  );
  const x = randn([3, 6, 6, 2], rng), y = randLabels(3, 4, rng);
  const reg = 0.05;
  const { grads } = threeLayerConvNetLoss(params, x, y, reg);
  for (const name of ["W1", "b1", "W2", "b2", "W3", "b3"] as const) {
    const num = numericGradientScalar(
      () => threeLayerConvNetLoss(params, x, y, reg).loss!,
      params[name],
    );
    const e = relError(grads![name], num);
    assert.ok(e < 1e-6, `d${name}: relative error ${e}`);
  }
});

Deno.test("threeLayerConvNetLoss() starts near ln(10) = 2.3026 for 10 classes with small weights", () => {
  const rng = new Rng(1);
  const params = threeLayerConvNetInit({}, rng);
  const { loss, scores } = threeLayerConvNetLoss(params, randn([4, 32, 32, 3], rng), [0, 1, 2, 3]);
  assert.deepEqual(scores.shape, [4, 10]);
  assert.ok(Math.abs(loss! - Math.log(10)) < 0.01, `initial loss ${loss}`);
  assert.equal(threeLayerConvNetLoss(params, randn([2, 32, 32, 3], rng)).loss, undefined); // scores only
  assert.throws(() => threeLayerConvNetInit({ filterSize: 4 }, rng), RangeError);
});
