import assert from "node:assert/strict";
import { randn, Rng } from "convkit/random.ts";
import { gpuAdapterInfo, setBackend, tf } from "convkit/tf/backend.ts";
import { toTf } from "convkit/tf/convert.ts";
import { countDispatches } from "convkit/tf/webgpu_kernels.ts";
import { FusedAdamOptimizer, FusedSGDOptimizer } from "convkit/tf/webgpu_optimizers.ts";

// CI runs the webgpu cases on Deno's software adapter (llvmpipe); without one they are skipped, saying so
const adapter = await gpuAdapterInfo();
if (!adapter) {
  console.warn("webgpu_optimizers_test: no WebGPU adapter here; the webgpu cases are skipped");
}

const SHAPES = [[3, 3, 2, 5], [5], [70, 3], [1]];

/**
 * Three steps of `make()`'s optimizer on `backend` over variables of SHAPES with seeded gradients; returns
 * the variables' and the optimizer's weights, and the dispatches. tfjs-webgpu runs small element-wise ops
 * on the CPU while their inputs are there (under 1,000 elements): in training the gradients come from GPU
 * kernels, so that is turned off here (WEBGPU_CPU_FORWARD) to count what training dispatches.
 */
let run = 0;
async function steps(backend: "cpu" | "webgpu", make: () => tf.Optimizer) {
  await setBackend(backend);
  if (backend === "webgpu") tf.env().set("WEBGPU_CPU_FORWARD", false);
  run++;
  const rng = new Rng(8);
  const vars = SHAPES.map((s, i) => tf.variable(toTf(randn(s, rng)), true, `w${i}_${run}`));
  const grads = [0, 1, 2].map(() => SHAPES.map((s) => toTf(randn(s, rng))));
  const opt = make();
  const dispatches = await countDispatches(() => {
    for (const g of grads) opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: g[i] })));
  });
  const values = await Promise.all(vars.map((v) => v.data()));
  const state = await Promise.all((await opt.getWeights()).map((w) => w.tensor.data()));
  opt.dispose();
  tf.dispose([...vars, ...grads.flat()]);
  tf.env().set("WEBGPU_CPU_FORWARD", true);
  await setBackend("cpu");
  return { values, state, dispatches };
}

function assertClose(a: ArrayLike<number>[], b: ArrayLike<number>[], what: string) {
  assert.equal(a.length, b.length);
  for (const [k, x] of a.entries()) {
    for (let i = 0; i < x.length; i++) {
      const y = b[k][i];
      assert.ok(
        Math.abs(x[i] - y) <= 1e-6 + 1e-5 * Math.abs(y),
        `${what} ${k}[${i}]: ${x[i]} vs ${y}`,
      );
    }
  }
}

for (
  const [name, fused, stock, perVariable] of [
    ["SGD", () => new FusedSGDOptimizer(0.1), () => tf.train.sgd(0.1), 1],
    [
      "Adam",
      () => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7),
      () => tf.train.adam(0.01, 0.9, 0.999, 1e-7),
      3,
    ],
  ] as const
) {
  Deno.test({
    name:
      `Fused${name}Optimizer on webgpu: tfjs-cpu's ${name} to float32 rounding, ${perVariable} dispatch(es) a variable`,
    ignore: !adapter,
    async fn() {
      const gpu = await steps("webgpu", fused);
      const cpu = await steps("cpu", stock);
      assertClose(gpu.values, cpu.values, "weights");
      assertClose(gpu.state, cpu.state, "optimizer state (iterations, moments)");
      // 3 steps over 4 variables: 12 updates (Adam's zero moments at the first are tfjs's fills)
      assert.equal(gpu.dispatches - (name === "Adam" ? 8 : 0), 12 * perVariable);
      const stockGpu = await steps("webgpu", stock);
      assert.ok(stockGpu.dispatches > gpu.dispatches, `stock ${stockGpu.dispatches}`);
    },
  });

  Deno.test(`Fused${name}Optimizer elsewhere is tfjs's ${name} exactly (cpu)`, async () => {
    const a = await steps("cpu", fused), b = await steps("cpu", stock);
    assert.deepEqual(a.values, b.values);
    assert.deepEqual(a.state, b.state);
  });
}

Deno.test({
  name: "FusedAdamOptimizer on webgpu resumes from setWeights as tfjs's Adam does",
  ignore: !adapter,
  async fn() {
    const run = async (backend: "cpu" | "webgpu", make: () => tf.Optimizer) => {
      await setBackend(backend);
      const rng = new Rng(3);
      const v = tf.variable(toTf(randn([4, 3], rng)), true, `r_${backend}`);
      const g = toTf(randn([4, 3], rng));
      const first = make();
      for (let k = 0; k < 4; k++) first.applyGradients([{ name: v.name, tensor: g }]);
      const saved = await first.getWeights();
      const second = make();
      await second.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
      for (let k = 0; k < 2; k++) second.applyGradients([{ name: v.name, tensor: g }]);
      const out = await v.data();
      first.dispose();
      second.dispose();
      tf.dispose([v, g]);
      await setBackend("cpu");
      return out;
    };
    const gpu = await run("webgpu", () => new FusedAdamOptimizer(0.05, 0.9, 0.999, 1e-7));
    const cpu = await run("cpu", () => tf.train.adam(0.05, 0.9, 0.999, 1e-7));
    assertClose([gpu], [cpu], "weights after resuming");
  },
});

Deno.test({
  name:
    "Fused optimizers on webgpu leave to tfjs's code what it does differently: broadcast and int32 gradients, mismatched Adam moments",
  ignore: !adapter,
  async fn() {
    // [4] variables with a scalar gradient (tfjs broadcasts it) and an int32 gradient (tfjs casts it)
    const cases = async (backend: "cpu" | "webgpu", make: () => tf.Optimizer) => {
      await setBackend(backend);
      tf.env().set("WEBGPU_CPU_FORWARD", false);
      const a = tf.variable(tf.tensor1d([1, 2, 3, 4]), true, `b_${++run}`);
      const b = tf.variable(tf.tensor1d([1, 2, 3, 4]), true, `i_${++run}`);
      const opt = make();
      for (let k = 0; k < 2; k++) {
        opt.applyGradients([
          { name: a.name, tensor: tf.scalar(0.5 + k) },
          { name: b.name, tensor: tf.tensor1d([1, -2, 3, -4], "int32") },
        ]);
      }
      const out = [[...await a.data()], [...await b.data()]];
      opt.dispose();
      tf.dispose([a, b]);
      tf.env().set("WEBGPU_CPU_FORWARD", true);
      await setBackend("cpu");
      return out;
    };
    const sgd = await cases("webgpu", () => new FusedSGDOptimizer(0.1));
    assertClose(sgd, await cases("cpu", () => tf.train.sgd(0.1)), "SGD");
    // by hand: 1 - 0.1·0.5 - 0.1·1.5 and 2 + 0.1·2·2
    assert.ok(Math.abs(sgd[0][0] - 0.8) < 1e-6 && Math.abs(sgd[1][1] - 2.4) < 1e-6, `${sgd}`);
    const adam = () => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    assertClose(
      await cases("webgpu", adam),
      await cases("cpu", () => tf.train.adam(0.01, 0.9, 0.999, 1e-7)),
      "Adam",
    );
    // a shorter list the next step lines a variable up with another's moments: tfjs throws, so must this
    await setBackend("webgpu");
    const v3 = tf.variable(tf.zeros([3]), true, `s_${++run}`),
      v5 = tf.variable(tf.zeros([5]), true, `s_${++run}`);
    const opt = adam();
    opt.applyGradients([{ name: v3.name, tensor: tf.ones([3]) }, {
      name: v5.name,
      tensor: tf.ones([5]),
    }]);
    assert.throws(
      () => opt.applyGradients([{ name: v5.name, tensor: tf.ones([5]) }]),
      /could not be broadcast together with shapes 3 and 5/,
    );
    opt.dispose();
    tf.dispose([v3, v5]);
    await setBackend("cpu");
  },
});

Deno.test("FusedSGDOptimizer steps by the rate given to setLearningRate, as tfjs's SGD does", () => {
  const opt = new FusedSGDOptimizer(0.1);
  (opt as unknown as { learningRate: number }).learningRate = 0.5; // not how a rate is changed: tfjs's SGD keeps stepping by 0.1
  assert.equal((opt as unknown as { negLr: number }).negLr, -0.1);
  opt.setLearningRate(0.3);
  assert.equal((opt as unknown as { negLr: number }).negLr, -0.3);
  opt.dispose();
});
