import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { gradCheck } from "convkit/gradcheck.ts";
import {
  batchNormState,
  spatialBatchnormBackward,
  spatialBatchnormForward,
} from "convkit/layers/batchnorm.ts";
import { dropoutBackward, dropoutForward } from "convkit/layers/dropout.ts";
import { randn, Rng } from "convkit/random.ts";
import { full, tensor, zeros } from "convkit/tensor.ts";
import { fixtures, T } from "../fixtures.ts";

for (const fx of fixtures.batchnorm) {
  Deno.test(`spatialBatchnormForward/Backward match PyTorch batch_norm ${fx.name}`, () => {
    const state = { runningMean: T(fx.runningMean0).data, runningVar: T(fx.runningVar0).data };
    const { out, cache } = spatialBatchnormForward(T(fx.x), T(fx.gamma), T(fx.beta), {
      mode: fx.mode,
      state,
      eps: fx.eps,
      momentum: fx.momentum,
    });
    assert.ok(relError(out, T(fx.out)) < 1e-10, `out ${relError(out, T(fx.out))}`);
    assert.ok(
      relError({ data: state.runningMean, shape: [state.runningMean.length] }, T(fx.runningMean)) <
        1e-12,
    );
    assert.ok(
      relError({ data: state.runningVar, shape: [state.runningVar.length] }, T(fx.runningVar)) <
        1e-12,
    );
    const g = spatialBatchnormBackward(T(fx.dout), cache);
    for (
      const [n, mine, ref] of [["dx", g.dx, fx.dx], ["dgamma", g.dgamma, fx.dgamma], [
        "dbeta",
        g.dbeta,
        fx.dbeta,
      ]] as const
    ) {
      assert.ok(relError(mine, T(ref)) < 1e-9, `${n} ${relError(mine, T(ref))}`);
    }
  });
}

for (const mode of ["train", "test"] as const) {
  Deno.test(`spatialBatchnormBackward() matches the numeric gradient in ${mode} mode x=[2,3,4,3]`, () => {
    const rng = new Rng(12);
    const x = randn([2, 3, 4, 3], rng, 2), gamma = randn([3], rng), beta = randn([3], rng);
    const state = batchNormState(3);
    state.runningVar.set([0.5, 2, 1.5]);
    const fwd = () => spatialBatchnormForward(x, gamma, beta, { mode, state });
    const { out, cache } = fwd();
    const dout = randn(out.shape, rng);
    const g = spatialBatchnormBackward(dout, cache);
    gradCheck(
      () => fwd().out,
      { x, gamma, beta },
      { x: g.dx, gamma: g.dgamma, beta: g.dbeta },
      dout,
    );
  });
}

Deno.test("spatialBatchnormForward() in train mode gives each channel mean 0 and variance 1 before gamma, beta", () => {
  const x = randn([4, 5, 5, 3], new Rng(1), 7);
  const { out } = spatialBatchnormForward(x, full([3], 1), zeros([3]), {
    mode: "train",
    state: batchNormState(3),
  });
  for (let ch = 0; ch < 3; ch++) {
    const v = out.data.filter((_, i) => i % 3 === ch);
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    const variance = v.reduce((s, a) => s + a * a, 0) / v.length;
    assert.ok(
      Math.abs(mean) < 1e-12 && Math.abs(variance - 1 / (1 + 1e-5 / (49 * (1 + 0)))) < 1e-3,
    );
  }
});

Deno.test("spatialBatchnormForward() rejects a wrong mode, state of another size, and one value per channel", () => {
  const x = zeros([1, 2, 2, 3]);
  const g = full([3], 1), b = zeros([3]);
  assert.throws(
    () => spatialBatchnormForward(x, g, b, { mode: "eval" as never, state: batchNormState(3) }),
    /mode must be/,
  );
  assert.throws(
    () => spatialBatchnormForward(x, g, b, { mode: "train", state: batchNormState(2) }),
    /batchNormState\(3\)/,
  );
  assert.throws(
    () => spatialBatchnormForward(x, full([2], 1), b, { mode: "train", state: batchNormState(3) }),
    /gamma must have shape 3/,
  );
  assert.throws(
    () =>
      spatialBatchnormForward(zeros([1, 1, 1, 3]), g, b, {
        mode: "train",
        state: batchNormState(3),
      }),
    /at least 2 values/,
  );
});

Deno.test("dropoutForward() zeroes with probability p, scales survivors by 1 / (1 - p), and is seeded", () => {
  const x = full([20_000], 3);
  const a = dropoutForward(x, { p: 0.25, mode: "train", rng: new Rng(4) });
  const b = dropoutForward(x, { p: 0.25, mode: "train", rng: new Rng(4) });
  assert.deepEqual(a.out.data, b.out.data);
  const dropped = a.out.data.filter((v) => v === 0).length / x.data.length;
  assert.ok(Math.abs(dropped - 0.25) < 0.015, `dropped ${dropped}`); // 5 standard errors
  assert.ok(a.out.data.every((v) => v === 0 || v === 4));
  const mean = a.out.data.reduce((s, v) => s + v, 0) / x.data.length;
  assert.ok(Math.abs(mean - 3) < 0.1); // inverted dropout keeps the expectation
});

Deno.test("dropoutBackward() passes gradients through kept units only, with the same scale", () => {
  const { out, cache } = dropoutForward(tensor([1, 2, 3, 4, 5, 6], [2, 3]), {
    p: 0.5,
    mode: "train",
    rng: new Rng(1),
  });
  const { dx } = dropoutBackward(full([2, 3], 1), cache);
  for (let i = 0; i < 6; i++) assert.equal(dx.data[i], out.data[i] === 0 ? 0 : 2);
});

Deno.test("dropoutForward() in test mode is the identity; bad p and missing rng are errors", () => {
  const x = tensor([1, -2, 3], [3]);
  const { out, cache } = dropoutForward(x, { p: 0.5, mode: "test" });
  assert.deepEqual([...out.data], [1, -2, 3]);
  assert.deepEqual([...dropoutBackward(tensor([1, 1, 1], [3]), cache).dx.data], [1, 1, 1]);
  assert.throws(() => dropoutForward(x, { p: 1, mode: "train", rng: new Rng(0) }), RangeError);
  assert.throws(() => dropoutForward(x, { p: 0.5, mode: "train" }), /seeded generator/);
});
