import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { randn, Rng } from "convkit/random.ts";
import { clone } from "convkit/tensor.ts";
import { setBackend, tf } from "convkit/tf/backend.ts";
import {
  LrSchedule,
  type OptimizerConfig,
  type OptimizerState,
  step,
} from "convkit/train/optim.ts";

// tfjs's optimizers are the independent reference: the same gradients, five steps, the same weights.
const configs: [OptimizerConfig, () => tf.Optimizer][] = [
  [{ name: "sgd", lr: 0.1 }, () => tf.train.sgd(0.1)],
  [{ name: "momentum", lr: 0.05, momentum: 0.9 }, () => tf.train.momentum(0.05, 0.9)],
  [
    { name: "rmsprop", lr: 0.01, decay: 0.9, epsilon: 1e-7 },
    () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7),
  ],
  [
    { name: "adam", lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    () => tf.train.adam(0.01, 0.9, 0.999, 1e-7),
  ],
];

for (const [config, make] of configs) {
  Deno.test(`step(${config.name}) matches tf.train.${config.name} over five steps`, async () => {
    await setBackend("cpu");
    const rng = new Rng(3);
    const w = randn([4, 3], rng);
    const grads = Array.from({ length: 5 }, () => randn([4, 3], rng));
    const mine = clone(w), state: OptimizerState = {};
    for (const g of grads) step(mine, g, config, state);
    const v = tf.variable(tf.tensor(Float32Array.from(w.data), [4, 3]));
    const opt = make();
    for (const g of grads) {
      opt.applyGradients({ [v.name]: tf.tensor(Float32Array.from(g.data), [4, 3]) });
    }
    const theirs = { data: await v.data(), shape: [4, 3] };
    const e = relError(mine, theirs);
    assert.ok(e < 1e-5, `relative error ${e}`); // float32 against float64
    v.dispose();
    opt.dispose();
  });
}

Deno.test("step() adds weight decay to the gradient and refuses mismatched shapes", () => {
  const w = { data: new Float64Array([1, -2]), shape: [2] };
  step(w, { data: new Float64Array([0, 0]), shape: [2] }, {
    name: "sgd",
    lr: 0.5,
    weightDecay: 0.1,
  }, {});
  assert.deepEqual([...w.data], [0.95, -1.9]); // w -= 0.5 * 0.1 * w
  assert.throws(
    () => step(w, { data: new Float64Array(3), shape: [3] }, { name: "sgd", lr: 1 }, {}),
    RangeError,
  );
});

Deno.test("LrSchedule follows a cosine down to its minimum over N epochs", () => {
  // by hand: 0.1 * (1 + cos(pi/4)) / 2 = 0.0853553..., cos(pi/2) = 0, cos(3pi/4) = -0.7071...
  const s = new LrSchedule(0.1, { kind: "cosine", epochs: 4 });
  const got = [1, 2, 3, 4, 5].map((e) => s.next(e));
  const want = [0.08535533905932738, 0.05, 0.014644660940672627, 0, 0];
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-15, `epoch ${i + 1}: ${v}`));
  const m = new LrSchedule(0.1, { kind: "cosine", epochs: 2, minLr: 0.02 });
  assert.ok(Math.abs(m.next(1) - 0.06) < 1e-15); // 0.02 + 0.08 * (1 + 0) / 2
  assert.throws(() => new LrSchedule(0.1, { kind: "cosine", epochs: 0 }), RangeError);
});

Deno.test("LrSchedule divides by its factor every N epochs, or after a plateau", () => {
  const s = new LrSchedule(1, { kind: "step", every: 2, factor: 10 });
  assert.deepEqual([1, 2, 3, 4].map((e) => s.next(e)), [1, 0.1, 0.1, 0.01]);
  const p = new LrSchedule(0.1, { kind: "plateau", patience: 2, factor: 10, minLr: 0.005 });
  assert.deepEqual([0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6].map((m, i) => p.next(i + 1, m)), [
    0.1,
    0.1,
    0.1,
    0.01,
    0.01,
    0.005,
    0.005,
  ]);
});
