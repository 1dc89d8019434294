import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { gradCheck, numericGradientScalar } from "convkit/gradcheck.ts";
import { affineBackward, affineForward } from "convkit/layers/affine.ts";
import { reluBackward, reluForward } from "convkit/layers/relu.ts";
import { softmax, softmaxLoss } from "convkit/layers/softmax.ts";
import { randn, Rng } from "convkit/random.ts";
import { ShapeError } from "convkit/shape.ts";
import { tensor, zeros } from "convkit/tensor.ts";
import { fixtures, T } from "../fixtures.ts";

for (const fx of fixtures.affine) {
  Deno.test(`affineForward/affineBackward match PyTorch ${fx.name}`, () => {
    const { out, cache } = affineForward(T(fx.x), T(fx.w), T(fx.b));
    assert.ok(relError(out, T(fx.out)) < 1e-12);
    const g = affineBackward(T(fx.dout), cache);
    assert.deepEqual(g.dx.shape, fx.x.shape);
    assert.ok(
      relError(g.dx, T(fx.dx)) < 1e-12 && relError(g.dw, T(fx.dw)) < 1e-12 &&
        relError(g.db, T(fx.db)) < 1e-12,
    );
  });
}

Deno.test("affineBackward() dx, dw, db match the numeric gradient x=[2,3,2,2] w=[12,4]", () => {
  const rng = new Rng(4);
  const x = randn([2, 3, 2, 2], rng), w = randn([12, 4], rng), b = randn([4], rng);
  const { out, cache } = affineForward(x, w, b);
  const dout = randn(out.shape, rng);
  const { dx, dw, db } = affineBackward(dout, cache);
  gradCheck(() => affineForward(x, w, b).out, { x, w, b }, { x: dx, w: dw, b: db }, dout);
});

Deno.test("affineForward() flattens the lecture's 4x4x10 volume to 160 numbers", () => {
  const { out } = affineForward(zeros([1, 4, 4, 10]), zeros([160, 10]), zeros([10]));
  assert.deepEqual(out.shape, [1, 10]);
  assert.throws(
    () => affineForward(zeros([1, 4, 4, 10]), zeros([150, 10]), zeros([10])),
    /flattens to 1x160 but w 150x10 expects D = 150/,
  );
  assert.throws(() => affineForward(zeros([1, 4]), zeros([4, 3]), zeros([4])), ShapeError);
});

for (const fx of fixtures.relu) {
  Deno.test(`reluForward/reluBackward match PyTorch ${fx.name}`, () => {
    const { out, cache } = reluForward(T(fx.x));
    assert.equal(relError(out, T(fx.out)), 0);
    assert.equal(relError(reluBackward(T(fx.dout), cache).dx, T(fx.dx)), 0);
  });
}

Deno.test("reluBackward() dx matches the numeric gradient away from 0", () => {
  const rng = new Rng(8);
  const x = randn([2, 3, 3, 2], rng);
  for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]) < 1e-3) x.data[i] = 0.5; // no kink within h
  const dout = randn(x.shape, rng);
  const { dx } = reluBackward(dout, reluForward(x).cache);
  gradCheck(() => reluForward(x).out, { x }, { x: dx }, dout);
});

for (const fx of fixtures.softmax) {
  Deno.test(`softmaxLoss() matches PyTorch cross_entropy ${fx.name}`, () => {
    const { loss, dscores } = softmaxLoss(T(fx.scores), fx.y);
    assert.ok(Math.abs(loss - fx.loss) / Math.abs(fx.loss) < 1e-12, `loss ${loss} vs ${fx.loss}`);
    assert.ok(relError(dscores, T(fx.dscores)) < 1e-10);
    assert.ok(relError(softmax(T(fx.scores)), T(fx.probs)) < 1e-10);
  });
}

Deno.test("softmaxLoss() dscores matches the numeric gradient of the loss N=4 C=5", () => {
  const rng = new Rng(2);
  const scores = randn([4, 5], rng), y = [0, 4, 2, 2];
  const { dscores } = softmaxLoss(scores, y);
  const num = numericGradientScalar(() => softmaxLoss(scores, y).loss, scores);
  assert.ok(relError(dscores, num) < 1e-8);
});

Deno.test("softmaxLoss() gives ln(10) = 2.302585... for equal scores over 10 classes", () => {
  assert.ok(Math.abs(softmaxLoss(zeros([3, 10]), [1, 2, 3]).loss - 2.302585092994046) < 1e-15);
});

Deno.test("softmaxLoss() rejects labels out of range, too few labels, and no examples", () => {
  assert.throws(
    () => softmaxLoss(zeros([2, 3]), [0, 3]),
    /label 3 of example 1 is outside 0 \.\. 2/,
  );
  assert.throws(() => softmaxLoss(zeros([2, 3]), [0, -1]), RangeError);
  assert.throws(() => softmaxLoss(zeros([2, 3]), [0.5, 1]), RangeError);
  assert.throws(() => softmaxLoss(zeros([2, 3]), [0]), /2 rows of scores need 2 labels, got 1/);
  assert.throws(() => softmaxLoss(zeros([0, 3]), []), RangeError);
  assert.throws(() => softmaxLoss(tensor([1, 2, 3], [3]), [0]), /rank 2/);
});
