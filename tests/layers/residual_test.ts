import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { gradCheck } from "convkit/gradcheck.ts";
import { batchNormState } from "convkit/layers/batchnorm.ts";
import {
  residualBlockBackward,
  residualBlockForward,
  type ResidualBlockParams,
  residualBlockParams,
} from "convkit/layers/residual.ts";
import { randn, Rng } from "convkit/random.ts";
import { type Tensor, zeros } from "convkit/tensor.ts";
import { type Fixture, fixtures, T } from "../fixtures.ts";

function paramsFrom(fx: Fixture): ResidualBlockParams {
  const unit = (u: Fixture) => ({
    w: T(u.w),
    gamma: T(u.gamma),
    beta: T(u.beta),
    bn: batchNormState(u.gamma.shape[0]),
  });
  const p: ResidualBlockParams = { conv1: unit(fx.params.conv1), conv2: unit(fx.params.conv2) };
  if (fx.params.shortcut) p.shortcut = unit(fx.params.shortcut);
  return p;
}

for (const fx of fixtures.residual) {
  Deno.test(`residualBlockForward/Backward match PyTorch ${fx.name}`, () => {
    const params = paramsFrom(fx);
    const { out, cache } = residualBlockForward(T(fx.x), params, {
      stride: fx.stride,
      mode: "train",
    });
    assert.ok(relError(out, T(fx.out)) < 1e-10, `out ${relError(out, T(fx.out))}`);
    const { dx, grads } = residualBlockBackward(T(fx.dout), cache);
    assert.ok(relError(dx, T(fx.dx)) < 1e-9, `dx ${relError(dx, T(fx.dx))}`);
    for (const unit of Object.keys(fx.grads)) {
      for (const p of ["w", "gamma", "beta"]) {
        // deno-lint-ignore no-explicit-any
        const mine = (grads as any)[unit][p] as Tensor;
        const e = relError(mine, T(fx.grads[unit][p]));
        assert.ok(e < 1e-9, `${unit}.${p} ${e}`);
      }
    }
  });
}

for (
  const [label, xs, cOut, stride] of [["identity x=[2,4,4,2] C=2 S=1", [2, 4, 4, 2], 2, 1], [
    "projection x=[2,5,5,2] C=3 S=2",
    [2, 5, 5, 2],
    3,
    2,
  ]] as const
) {
  Deno.test(`residualBlockBackward() matches the numeric gradient ${label}`, () => {
    const rng = new Rng(21);
    const x = randn(xs, rng);
    const params = residualBlockParams(xs[3], cOut, stride, rng);
    const fwd = () => residualBlockForward(x, params, { stride, mode: "train" });
    const { out, cache } = fwd();
    const dout = randn(out.shape, rng);
    const { dx, grads } = residualBlockBackward(dout, cache);
    const inputs: Record<string, Tensor> = { x };
    const analytic: Record<string, Tensor> = { x: dx };
    for (const u of ["conv1", "conv2", "shortcut"] as const) {
      if (!params[u]) continue;
      for (const p of ["w", "gamma", "beta"] as const) {
        inputs[`${u}.${p}`] = params[u]![p];
        analytic[`${u}.${p}`] = grads[u]![p];
      }
    }
    gradCheck(() => fwd().out, inputs, analytic, dout, { tol: 1e-6, where: "residualBlock" });
  });
}

Deno.test("residualBlockBackward(): the addition sends the same gradient to both branches", () => {
  // With conv2's gamma at 0 the residual branch outputs beta only, so out = relu(beta2 + x); with x > 0 and
  // beta2 = 0 the whole gradient reaches x through the skip unchanged.
  const rng = new Rng(5);
  const x = randn([1, 4, 4, 2], rng);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.abs(x.data[i]) + 0.1;
  const params = residualBlockParams(2, 2, 1, rng);
  params.conv2.gamma = zeros([2]);
  const { out, cache } = residualBlockForward(x, params, { stride: 1, mode: "train" });
  assert.ok(relError(out, x) < 1e-15);
  const dout = randn(out.shape, rng);
  const { dx } = residualBlockBackward(dout, cache);
  assert.ok(relError(dx, dout) < 1e-15);
});

Deno.test("residualBlockForward() needs a projection shortcut when the shape changes", () => {
  const rng = new Rng(0);
  const params = residualBlockParams(2, 4, 1, rng);
  delete params.shortcut;
  assert.throws(
    () => residualBlockForward(randn([1, 4, 4, 2], rng), params, { stride: 1, mode: "train" }),
    /identity shortcut/,
  );
  const p2 = residualBlockParams(4, 8, 2, rng);
  const { out } = residualBlockForward(randn([1, 56, 56, 4], rng), p2, { stride: 2, mode: "test" });
  assert.deepEqual(out.shape, [1, 28, 28, 8]); // 56 -> 28, as ResNet's stage transitions
});
