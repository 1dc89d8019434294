// The tfjs layers against the float64 teaching layers on seeded inputs: every forward pass and every
// gradient, to float32 precision (relative error below 1e-4), with no tfjs tensor left behind.
import assert from "node:assert/strict";
import { relError } from "../../lib/compare.ts";
import {
  batchNormState,
  spatialBatchnormBackward,
  spatialBatchnormForward,
} from "../../lib/layers/batchnorm.ts";
import { conv2dBackward, conv2dForward } from "../../lib/layers/conv2d.ts";
import { maxPool2dBackward, maxPool2dForward } from "../../lib/layers/pool2d.ts";
import {
  threeLayerConvNetInit,
  threeLayerConvNetLoss,
} from "../../lib/models/three_layer_convnet.ts";
import { randLabels, randn, Rng } from "../../lib/random.ts";
import { ShapeError, type WindowOptions } from "../../lib/shape.ts";
import type { Tensor } from "../../lib/tensor.ts";
import { setBackend, tf } from "../../lib/tf/backend.ts";
import {
  conv2dBackwardTf,
  conv2dForwardTf,
  maxPool2dBackwardTf,
  maxPool2dForwardTf,
  spatialBatchnormBackwardTf,
  spatialBatchnormForwardTf,
  threeLayerConvNetLossTf,
} from "../../lib/tf/layers.ts";

await tf.setBackend("cpu");
assert.equal(tf.getBackend(), "cpu");

/** The worst relative error seen per quantity, printed by the last test. */
const worst = new Map<string, number>();

/** Asserts that a tfjs result matches the teaching one in shape and to float32 precision. */
function close(name: string, tfjs: Tensor, ref: Tensor): void {
  assert.deepEqual(tfjs.shape, ref.shape, `${name} shape`);
  const e = relError(tfjs, ref);
  worst.set(name, Math.max(worst.get(name) ?? 0, e));
  assert.ok(e < 1e-4, `${name}: relative error ${e.toExponential(2)} >= 1e-4`);
}

const vec = (v: Float64Array): Tensor => ({ data: v, shape: [v.length] });

/** Runs `f` and asserts that it leaves no tfjs tensor behind. */
function noLeak<R>(f: () => R): R {
  const before = tf.memory().numTensors;
  const r = f();
  assert.equal(tf.memory().numTensors, before, "tfjs tensors leaked");
  return r;
}

const s = (shape: readonly number[]) => `[${shape.join(",")}]`;

const convCases: [readonly number[], readonly number[], WindowOptions][] = [
  [[2, 5, 5, 3], [3, 3, 3, 4], { stride: 1, pad: 1 }],
  [[1, 7, 7, 1], [3, 3, 1, 2], { stride: 2, pad: 0 }],
  [[3, 6, 8, 2], [3, 3, 2, 5], { stride: 1, pad: 0 }],
  [[2, 7, 9, 4], [5, 5, 4, 3], { stride: 2, pad: 2 }],
  [[2, 6, 6, 5], [1, 1, 5, 3], { stride: 1, pad: 0 }],
  [[2, 5, 8, 1], [1, 1, 1, 2], { stride: 3, pad: 1 }],
  [[1, 8, 8, 2], [2, 2, 2, 3], { stride: 2, pad: 0 }],
  [[2, 9, 6, 3], [3, 3, 3, 2], { stride: 3, pad: 0 }],
  [[1, 4, 5, 2], [3, 3, 2, 1], { stride: 1, pad: 2 }],
  [[2, 4, 6, 3], [3, 2, 3, 2], { stride: 1, pad: 1 }],
  // the last rows and columns fall outside every window
  [[2, 8, 8, 3], [3, 3, 3, 2], { stride: 2, pad: 0, rounding: "floor" }],
  [[1, 7, 6, 2], [3, 3, 2, 2], { stride: 3, pad: 1, rounding: "floor" }],
];

for (const [i, [xs, ws, opts]] of convCases.entries()) {
  const label = `x=${s(xs)} w=${s(ws)} s=${opts.stride} p=${opts.pad}${
    opts.rounding ? ` ${opts.rounding}` : ""
  }`;
  const setup = () => {
    const rng = new Rng(100 + i);
    const x = randn(xs, rng), w = randn(ws, rng), b = randn([ws[3]], rng);
    const ref = conv2dForward(x, w, b, opts);
    return { x, w, b, ref, dout: randn(ref.out.shape, rng) };
  };
  Deno.test(`conv2dForwardTf() matches conv2dForward ${label}`, () => {
    const { x, w, b, ref } = setup();
    close("conv out", noLeak(() => conv2dForwardTf(x, w, b, opts)).out, ref.out);
  });
  Deno.test(`conv2dBackwardTf() dx, dw, db match conv2dBackward ${label}`, () => {
    const { x, w, b, ref, dout } = setup();
    const got = noLeak(() => conv2dBackwardTf(dout, conv2dForwardTf(x, w, b, opts).cache));
    const want = conv2dBackward(dout, ref.cache);
    close("conv dx", got.dx, want.dx);
    close("conv dw", got.dw, want.dw);
    close("conv db", got.db, want.db);
  });
}

const poolCases = [
  [[2, 4, 4, 3], 2, 2],
  [[1, 5, 7, 2], 3, 2],
  [[3, 6, 9, 1], 3, 3],
  [[2, 5, 5, 4], 2, 1],
  [[2, 7, 4, 5], 1, 3],
  [[1, 6, 8, 3], 2, 2],
] as const;

for (const [i, [xs, size, stride]] of poolCases.entries()) {
  const label = `x=${s(xs)} f=${size} s=${stride}`;
  const setup = () => {
    const rng = new Rng(200 + i);
    const x = randn(xs, rng), ref = maxPool2dForward(x, { size, stride });
    return { x, ref, dout: randn(ref.out.shape, rng) };
  };
  Deno.test(`maxPool2dForwardTf() matches maxPool2dForward ${label}`, () => {
    const { x, ref } = setup();
    close("pool out", noLeak(() => maxPool2dForwardTf(x, { size, stride })).out, ref.out);
  });
  Deno.test(`maxPool2dBackwardTf() dx matches maxPool2dBackward ${label}`, () => {
    const { x, ref, dout } = setup();
    const { cache } = maxPool2dForwardTf(x, { size, stride });
    const got = noLeak(() => maxPool2dBackwardTf(dout, cache)).dx;
    close("pool dx", got, maxPool2dBackward(dout, ref.cache).dx);
  });
}

/** x with a different offset and scale per channel, so that normalizing changes something. */
function shifted(xs: readonly number[], rng: Rng): Tensor {
  const x = randn(xs, rng), c = xs[3];
  for (let k = 0; k < x.data.length; k++) x.data[k] = 3 * x.data[k] * (1 + (k % c)) + 2 - (k % c);
  return x;
}

const bnCases = [
  [[2, 3, 4, 3], undefined, undefined],
  [[1, 5, 5, 1], 0.3, 1e-3],
  [[4, 2, 3, 5], undefined, 1e-5],
  [[3, 1, 1, 2], 0.5, undefined],
] as const;

for (const [i, [xs, momentum, eps]] of bnCases.entries()) {
  const c = xs[3], label = `x=${s(xs)} momentum=${momentum ?? 0.1} eps=${eps ?? 1e-5}`;
  Deno.test(`spatialBatchnormForwardTf() matches spatialBatchnormForward in train mode, running averages included, ${label}`, () => {
    const rng = new Rng(300 + i);
    const gamma = randn([c], rng), beta = randn([c], rng);
    const ref = batchNormState(c), mine = batchNormState(c);
    // three steps, so that the running averages move from non-trivial values
    for (let step = 0; step < 3; step++) {
      const x = shifted(xs, rng);
      const want = spatialBatchnormForward(x, gamma, beta, {
        mode: "train",
        state: ref,
        momentum,
        eps,
      });
      const got = noLeak(() =>
        spatialBatchnormForwardTf(x, gamma, beta, { mode: "train", state: mine, momentum, eps })
      );
      close("bn train out", got.out, want.out);
      close("bn running mean", vec(mine.runningMean), vec(ref.runningMean));
      close("bn running var", vec(mine.runningVar), vec(ref.runningVar));
    }
  });

  Deno.test(`spatialBatchnormBackwardTf() dx, dgamma, dbeta match spatialBatchnormBackward in train mode ${label}`, () => {
    const rng = new Rng(350 + i);
    const gamma = randn([c], rng), beta = randn([c], rng), x = shifted(xs, rng);
    const dout = randn(xs, rng);
    const opts = () => ({ mode: "train", state: batchNormState(c), momentum, eps }) as const;
    const got = noLeak(() =>
      spatialBatchnormBackwardTf(dout, spatialBatchnormForwardTf(x, gamma, beta, opts()).cache)
    );
    const want = spatialBatchnormBackward(
      dout,
      spatialBatchnormForward(x, gamma, beta, opts()).cache,
    );
    close("bn train dx", got.dx, want.dx);
    close("bn train dgamma", got.dgamma, want.dgamma);
    close("bn train dbeta", got.dbeta, want.dbeta);
  });

  Deno.test(`spatialBatchnormForwardTf() and spatialBatchnormBackwardTf() match the teaching layer in test mode ${label}`, () => {
    const rng = new Rng(400 + i);
    const gamma = randn([c], rng), beta = randn([c], rng), x = shifted(xs, rng);
    const state = batchNormState(c);
    for (let k = 0; k < c; k++) {
      state.runningMean[k] = rng.normal();
      state.runningVar[k] = 0.5 + rng.uniform();
    }
    const saved = [state.runningMean.slice(), state.runningVar.slice()];
    const want = spatialBatchnormForward(x, gamma, beta, { mode: "test", state, eps });
    const got = noLeak(() =>
      spatialBatchnormForwardTf(x, gamma, beta, { mode: "test", state, eps })
    );
    assert.deepEqual([state.runningMean, state.runningVar], saved, "test mode changed the state");
    close("bn test out", got.out, want.out);
    // the backward pass uses the statistics of its forward pass, whatever the state holds since
    state.runningVar.fill(100);
    const dout = randn(xs, rng);
    const g = noLeak(() => spatialBatchnormBackwardTf(dout, got.cache));
    const r = spatialBatchnormBackward(dout, want.cache);
    close("bn test dx", g.dx, r.dx);
    close("bn test dgamma", g.dgamma, r.dgamma);
    close("bn test dbeta", g.dbeta, r.dbeta);
  });
}

const netCases = [
  [[6, 8, 3], 4, 3, 0],
  [[6, 8, 3], 4, 3, 0.5],
  [[4, 4, 1], 3, 5, 0],
  [[8, 6, 2], 5, 1, 0.5],
] as const;

for (const [i, [inputDim, filters, filterSize, reg]] of netCases.entries()) {
  Deno.test(
    `threeLayerConvNetLossTf() loss, scores and all six gradients match threeLayerConvNetLoss input=${
      s(inputDim)
    } K=${filters} F=${filterSize} reg=${reg}`,
    () => {
      const rng = new Rng(500 + i);
      const params = threeLayerConvNetInit(
        { inputDim, filters, filterSize, hidden: 7, classes: 5, weightScale: 0.3 },
        rng,
      );
      // non-zero biases, so that a bias gradient sent to the wrong place would show
      for (const b of [params.b1, params.b2, params.b3]) b.data.set(randn(b.shape, rng, 0.1).data);
      const x = randn([3, ...inputDim], rng), y = randLabels(3, 5, rng);
      const want = threeLayerConvNetLoss(params, x, y, reg);
      const got = noLeak(() => threeLayerConvNetLossTf(params, x, y, reg));
      close("net scores", got.scores, want.scores);
      close("net loss", vec(Float64Array.of(got.loss!)), vec(Float64Array.of(want.loss!)));
      for (const name of ["W1", "b1", "W2", "b2", "W3", "b3"] as const) {
        close(`net d${name}`, got.grads![name], want.grads![name]);
      }
      const only = noLeak(() => threeLayerConvNetLossTf(params, x));
      assert.deepEqual(Object.keys(only), ["scores"]);
      close("net scores", only.scores, want.scores);
    },
  );
}

Deno.test("threeLayerConvNetLossTf() refuses labels out of range and a W2 that does not fit the pooled volume", () => {
  const rng = new Rng(7);
  const params = threeLayerConvNetInit(
    { inputDim: [4, 4, 1], filters: 2, filterSize: 3, hidden: 3, classes: 2 },
    rng,
  );
  const x = randn([2, 4, 4, 1], rng);
  assert.throws(() => threeLayerConvNetLossTf(params, x, [0, 2]), RangeError);
  assert.throws(() => threeLayerConvNetLossTf(params, x, [0]), RangeError);
  assert.throws(
    () => threeLayerConvNetLossTf(params, randn([2, 6, 6, 1], rng), [0, 1]),
    (e: Error) => e instanceof ShapeError && /W2 must have shape 18x3, got 8x3/.test(e.message),
  );
});

Deno.test("conv2dForwardTf() throws a ShapeError naming the sizes when the stride does not fit", () => {
  const rng = new Rng(1);
  const x = randn([1, 7, 7, 1], rng), w = randn([3, 3, 1, 1], rng), b = randn([1], rng);
  assert.throws(
    () => conv2dForwardTf(x, w, b, { stride: 3, pad: 0 }),
    (e: Error) =>
      e instanceof ShapeError &&
      /stride 3 does not fit a 7x7 input with a 3x3 window and pad 0: the output is 2x2 rounded down but 3x3 rounded up/
        .test(e.message),
  );
  // the teaching layer refuses it too; with rounding "floor" both drop the last row and column
  assert.throws(() => conv2dForward(x, w, b, { stride: 3, pad: 0 }), ShapeError);
  const floor = { stride: 3, pad: 0, rounding: "floor" } as const;
  close("conv out", conv2dForwardTf(x, w, b, floor).out, conv2dForward(x, w, b, floor).out);
});

Deno.test("conv2dForwardTf() throws a ShapeError for a filter larger than the padded input, mismatched channels or bias", () => {
  const rng = new Rng(2);
  const x = randn([1, 3, 3, 2], rng);
  assert.throws(
    () => conv2dForwardTf(x, randn([5, 5, 2, 1], rng), randn([1], rng), { stride: 1, pad: 0 }),
    (e: Error) =>
      e instanceof ShapeError && /5x5 window does not fit a 3x3 input with pad 0/.test(e.message),
  );
  assert.throws(
    () => conv2dForwardTf(x, randn([3, 3, 3, 1], rng), randn([1], rng), { stride: 1, pad: 1 }),
    (e: Error) =>
      e instanceof ShapeError &&
      /expect 3 input channels, but x \[1, 3, 3, 2\] has 2/.test(e.message),
  );
  const w = randn([1, 1, 2, 2], rng);
  assert.throws(() => conv2dForwardTf(x, w, randn([3], rng), { stride: 1, pad: 0 }), ShapeError);
  assert.throws(() => conv2dForwardTf(x, w, randn([2], rng), { stride: 0, pad: 0 }), RangeError);
});

Deno.test("maxPool2dForwardTf() throws a ShapeError when the stride does not fit", () => {
  const x = randn([1, 5, 5, 1], new Rng(3));
  assert.throws(
    () => maxPool2dForwardTf(x, { size: 2, stride: 2 }),
    (e: Error) => e instanceof ShapeError && /stride 2 does not fit a 5x5 input/.test(e.message),
  );
});

Deno.test("conv2dBackwardTf(), maxPool2dBackwardTf() and spatialBatchnormBackwardTf() refuse a foreign cache with a TypeError", () => {
  const rng = new Rng(4);
  const x = randn([1, 4, 4, 2], rng), w = randn([3, 3, 2, 2], rng), b = randn([2], rng);
  const teaching = conv2dForward(x, w, b, { stride: 1, pad: 1 });
  const pool = maxPool2dForwardTf(x, { size: 2, stride: 2 });
  const dout = randn([1, 4, 4, 2], rng);
  const foreign = (where: string, forward: string) => (e: Error) =>
    e instanceof TypeError &&
    e.message.startsWith(`${where}: pass the cache returned by ${forward}`);
  assert.throws(
    () => conv2dBackwardTf(dout, teaching.cache as never),
    foreign("conv2dBackwardTf", 'conv2dForwardTf, got a "conv2d" cache'),
  );
  assert.throws(() => conv2dBackwardTf(dout, pool.cache as never), TypeError);
  assert.throws(() => conv2dBackwardTf(dout, undefined as never), TypeError);
  assert.throws(
    () => maxPool2dBackwardTf(dout, teaching.cache as never),
    foreign("maxPool2dBackwardTf", "maxPool2dForwardTf"),
  );
  assert.throws(
    () => spatialBatchnormBackwardTf(dout, pool.cache as never),
    foreign("spatialBatchnormBackwardTf", "spatialBatchnormForwardTf"),
  );
  // and the teaching layers refuse the tfjs caches
  const tfCache = conv2dForwardTf(x, w, b, { stride: 1, pad: 1 }).cache;
  assert.throws(() => conv2dBackward(dout, tfCache as never), TypeError);
});

Deno.test("the tfjs layers match the teaching layers on the wasm backend too", async () => {
  await setBackend("wasm");
  try {
    const rng = new Rng(6);
    const w = randn([3, 3, 3, 4], rng), b = randn([4], rng), x7 = randn([2, 7, 7, 3], rng);
    // stride 1 runs registerFastGrads' convolution kernels, strides 2 and 3 its im2col one
    for (const stride of [1, 2, 3]) {
      const ref = conv2dForward(x7, w, b, { stride, pad: 1 });
      const { out, cache } = conv2dForwardTf(x7, w, b, { stride, pad: 1 });
      close("wasm conv out", out, ref.out);
      const dout = randn(ref.out.shape, rng);
      const want = conv2dBackward(dout, ref.cache), got = conv2dBackwardTf(dout, cache);
      close("wasm conv dx", got.dx, want.dx);
      close("wasm conv dw", got.dw, want.dw);
    }
    const x = randn([2, 6, 6, 3], rng);
    const pool = maxPool2dForwardTf(x, { size: 2, stride: 2 });
    const dp = randn(pool.out.shape, rng);
    const poolRef = maxPool2dForward(x, { size: 2, stride: 2 });
    close(
      "wasm pool dx",
      maxPool2dBackwardTf(dp, pool.cache).dx,
      maxPool2dBackward(dp, poolRef.cache).dx,
    );
    const gamma = randn([3], rng), beta = randn([3], rng), dout = randn(x.shape, rng);
    const opts = () => ({ mode: "train", state: batchNormState(3) }) as const;
    const bn = spatialBatchnormForwardTf(x, gamma, beta, opts());
    const bnRef = spatialBatchnormForward(x, gamma, beta, opts());
    close("wasm bn out", bn.out, bnRef.out);
    close(
      "wasm bn dx",
      spatialBatchnormBackwardTf(dout, bn.cache).dx,
      spatialBatchnormBackward(dout, bnRef.cache).dx,
    );
    const params = threeLayerConvNetInit(
      { inputDim: [6, 6, 3], filters: 4, filterSize: 3, hidden: 5, classes: 3, weightScale: 0.3 },
      rng,
    );
    const y = randLabels(2, 3, rng);
    const net = threeLayerConvNetLossTf(params, x, y, 0.5);
    const netRef = threeLayerConvNetLoss(params, x, y, 0.5);
    close("wasm net loss", vec(Float64Array.of(net.loss!)), vec(Float64Array.of(netRef.loss!)));
    for (const name of ["W1", "b1", "W2", "b2", "W3", "b3"] as const) {
      close(`wasm net d${name}`, net.grads![name], netRef.grads![name]);
    }
  } finally {
    await setBackend("cpu");
  }
});

Deno.test("the worst relative errors of the tfjs layers against the teaching layers (printed)", () => {
  const rows = [...worst].map(([name, e]) => `${name.padEnd(18)} ${e.toExponential(2)}`);
  console.log(`worst relative errors, tfjs float32 vs teaching float64:\n${rows.join("\n")}`);
  for (const e of worst.values()) assert.ok(e < 1e-4);
});
