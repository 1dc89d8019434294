import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { conv2dBackward, conv2dForward } from "convkit/layers/conv2d.ts";
import { maxPool2dBackward, maxPool2dForward } from "convkit/layers/pool2d.ts";
import { randn, Rng } from "convkit/random.ts";
import { setBackend, tf } from "convkit/tf/backend.ts";
import { fromTf, toTf } from "convkit/tf/convert.ts";
import { registerFastGrads } from "convkit/tf/fast_grads.ts";

registerFastGrads();

// The kit's float64 teaching layers are the reference; tfjs computes in float32.
for (
  const [label, xs, ws, stride, pad] of [
    ["x=[2,8,8,3] w=[5,5,3,4] s=1 p=2 (same)", [2, 8, 8, 3], [5, 5, 3, 4], 1, 2],
    ["x=[3,7,9,2] w=[3,3,2,5] s=1 p=0 (valid, non-square)", [3, 7, 9, 2], [3, 3, 2, 5], 1, 0],
    ["x=[2,9,9,3] w=[3,3,3,2] s=2 p=1 (stride 2)", [2, 9, 9, 3], [3, 3, 3, 2], 2, 1],
    ["x=[1,6,6,4] w=[1,1,4,3] s=1 p=0 (1x1)", [1, 6, 6, 4], [1, 1, 4, 3], 1, 0],
    // the last input row and column fall outside every window
    ["x=[2,8,8,3] w=[3,3,3,2] s=2 p=0 (floor)", [2, 8, 8, 3], [3, 3, 3, 2], 2, 0],
  ] as const
) {
  Deno.test(`registerFastGrads() wasm dx and dw match the teaching layers ${label}`, async () => {
    await setBackend("wasm");
    const rng = new Rng(4);
    const x = randn(xs, rng), w = randn(ws, rng), b = randn([ws[3]], rng);
    const { out, cache } = conv2dForward(x, w, b, { stride, pad, rounding: "floor" });
    const dout = randn(out.shape, rng);
    const ref = conv2dBackward(dout, cache);
    const padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]] as [
      [number, number],
      [number, number],
      [number, number],
      [number, number],
    ];
    const xt = toTf(x) as tf.Tensor4D, wt = toTf(w) as tf.Tensor4D, dyt = toTf(dout) as tf.Tensor4D;
    // the gradients of sum(conv2d(x, w) * dout), which is what training asks the backend for
    const [dx, dw] = tf.grads((a: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, stride, padding as never), dyt))
    )([xt, wt]);
    assert.ok(
      relError(await fromTf(dx), ref.dx) < 1e-4,
      `dx ${relError(await fromTf(dx), ref.dx)}`,
    );
    assert.ok(
      relError(await fromTf(dw), ref.dw) < 1e-4,
      `dw ${relError(await fromTf(dw), ref.dw)}`,
    );
    tf.dispose([xt, wt, dyt, dx, dw]);
    await setBackend("cpu");
  });
}

Deno.test("registerFastGrads() lets a tfjs model train on wasm without leaking tensors", async () => {
  await setBackend("wasm");
  const { sequential, layers } = await import("@tensorflow/tfjs-layers");
  const model = sequential({
    layers: [
      layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      layers.flatten(),
      layers.dense({ units: 3 }),
    ],
  });
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, "float32", 1),
    y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], "int32"), 3);
  const opt = tf.train.sgd(0.1);
  const loss = () => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar;
  const first = opt.minimize(loss, true)!;
  const firstLoss = (await first.data())[0];
  first.dispose();
  const before = tf.memory().numTensors;
  let lastLoss = firstLoss;
  for (let i = 0; i < 20; i++) {
    const l = opt.minimize(loss, true)!;
    lastLoss = (await l.data())[0];
    l.dispose();
  }
  assert.equal(tf.memory().numTensors, before); // nothing left behind per step
  assert.ok(lastLoss < firstLoss, `loss ${firstLoss} -> ${lastLoss}`); // and it learns
  tf.dispose([x, y]);
  model.dispose();
  await setBackend("cpu");
});

// max-pool gradient: the teaching layer is the reference (windows without padding; the second overlaps);
// ties are made on purpose, where both must route the gradient to the first maximum
for (
  const [label, xs, size, stride] of [
    ["x=[2,8,8,3] 2x2 s=2", [2, 8, 8, 3], 2, 2],
    ["x=[2,9,7,4] 3x3 s=2 (overlapping)", [2, 9, 7, 4], 3, 2],
  ] as const
) {
  Deno.test(`registerFastGrads() wasm MaxPoolGrad matches the teaching layer ${label}`, async () => {
    await setBackend("wasm");
    const rng = new Rng(5);
    const x = randn(xs, rng);
    // ties: the same channel of two neighbouring pixels
    for (let i = 0; i + xs[3] < x.data.length; i += 7) x.data[i + xs[3]] = x.data[i];
    const { out, cache } = maxPool2dForward(x, { size, stride });
    const dout = randn(out.shape, rng);
    const ref = maxPool2dBackward(dout, cache);
    const xt = toTf(x) as tf.Tensor4D, dyt = toTf(dout) as tf.Tensor4D;
    const dx = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, "valid"), dyt))
    )(xt);
    assert.ok(
      relError(await fromTf(dx), ref.dx) < 1e-6,
      `dx ${relError(await fromTf(dx), ref.dx)}`,
    );
    tf.dispose([xt, dyt, dx]);
    await setBackend("cpu");
  });
}

for (
  const [label, xs, size, stride, pad] of [
    ["x=[2,7,7,3] 3x3 s=2 'same'", [2, 7, 7, 3], 3, 2, "same"],
    [
      "x=[2,9,7,3] 2x2 s=2 (odd sizes: the last row and column are in no window)",
      [2, 9, 7, 3],
      2,
      2,
      "valid",
    ],
  ] as const
) {
  Deno.test(`registerFastGrads() wasm MaxPoolGrad matches tfjs-cpu's kernel ${label}`, async () => {
    const rng = new Rng(6);
    const x = randn(xs, rng);
    const grads: number[][] = [];
    for (const backend of ["cpu", "wasm"] as const) {
      await setBackend(backend);
      const xt = toTf(x) as tf.Tensor4D;
      const dx = tf.grad((a: tf.Tensor) => {
        const y = tf.maxPool(a as tf.Tensor4D, size, stride, pad);
        // a fixed upstream gradient per output position: 1, 2, 3, ...
        return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
      })(xt);
      grads.push([...dx.dataSync()]);
      tf.dispose([xt, dx]);
    }
    // the same positions; overlapping windows sum in another order, so the last bits may differ
    for (let i = 0; i < grads[0].length; i++) {
      assert.equal(grads[1][i] === 0, grads[0][i] === 0, `position ${i}`);
      assert.ok(Math.abs(grads[1][i] - grads[0][i]) < 1e-5, `position ${i}`);
    }
    await setBackend("cpu");
  });
}

Deno.test("registerFastGrads() wasm MaxPoolGrad of a 2x2 'same' pool on a 3x3 input: [0,0,0,0,1,1,0,1,1]", async () => {
  // by hand: windows {1,2,4,5} {3,6} {7,8} {9}; their maxima 5, 6, 8, 9 each get gradient 1
  await setBackend("wasm");
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "same")))(x);
  assert.deepEqual([...dx.dataSync()], [0, 0, 0, 0, 1, 1, 0, 1, 1]);
  tf.dispose([x, dx]);
  await setBackend("cpu");
});

Deno.test("registerFastGrads() wasm MaxPoolGrad matches tfjs-cpu over a sweep of sizes, windows, strides and paddings", async () => {
  const cases: [number[], number, number, "valid" | "same"][] = [];
  for (const h of [1, 2, 3, 4, 5, 7]) {
    for (const w of [3, 4, 5]) {
      for (const size of [1, 2, 3]) {
        for (const stride of [1, 2, 3]) {
          for (const pad of ["valid", "same"] as const) {
            if (pad === "valid" && (size > h || size > w)) continue;
            cases.push([[2, h, w, 1 + ((h + w) % 3)], size, stride, pad]);
          }
        }
      }
    }
  }
  const run = async (backend: "cpu" | "wasm") => {
    await setBackend(backend);
    return cases.map(([xs, size, stride, pad], k) => {
      const x = toTf(randn(xs, new Rng(100 + k))) as tf.Tensor4D;
      const dx = tf.grad((a: tf.Tensor) => {
        const y = tf.maxPool(a as tf.Tensor4D, size, stride, pad);
        return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
      })(x);
      const out = [...dx.dataSync()];
      tf.dispose([x, dx]);
      return out;
    });
  };
  const cpu = await run("cpu"), wasm = await run("wasm");
  await setBackend("cpu");
  cases.forEach(([xs, size, stride, pad], k) => {
    for (let i = 0; i < cpu[k].length; i++) {
      assert.ok(
        Math.abs(cpu[k][i] - wasm[k][i]) < 1e-4,
        `x=[${xs}] ${size}x${size} s=${stride} ${pad}: position ${i}: wasm ${wasm[k][i]}, cpu ${
          cpu[k][i]
        }`,
      );
    }
  });
  assert.ok(cases.length > 250);
});

Deno.test("registerFastGrads() wasm conv dx and dw match tfjs-cpu over a sweep of sizes, filters, strides and paddings", async () => {
  const cases: [number[], number[], number, "valid" | "same" | number][] = [];
  for (const [h, w] of [[5, 5], [6, 8], [7, 5]]) {
    for (const c of [1, 3]) {
      for (const f of [1, 2, 3]) {
        for (const stride of [1, 2, 3]) {
          for (const pad of ["valid", "same", 1] as const) {
            cases.push([[2, h, w, c], [f, f, c, 1 + ((h + f) % 4)], stride, pad]);
          }
        }
      }
    }
  }
  const run = async (backend: "cpu" | "wasm") => {
    await setBackend(backend);
    return cases.map(([xs, ws, stride, pad], k) => {
      const rng = new Rng(200 + k);
      const x = toTf(randn(xs, rng)) as tf.Tensor4D, w = toTf(randn(ws, rng)) as tf.Tensor4D;
      const padding = typeof pad === "number"
        ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] as [number, number][]
        : pad;
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
        const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding as never);
        return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
      })([x, w]);
      const out = [[...dx.dataSync()], [...dw.dataSync()]];
      tf.dispose([x, w, dx, dw]);
      return out;
    });
  };
  const cpu = await run("cpu"), wasm = await run("wasm");
  await setBackend("cpu");
  cases.forEach(([xs, ws, stride, pad], k) => {
    for (const [g, name] of [[0, "dx"], [1, "dw"]] as const) {
      const a = wasm[k][g], b = cpu[k][g];
      const scale = Math.max(1, ...b.map(Math.abs));
      for (let i = 0; i < b.length; i++) {
        assert.ok(
          Math.abs(a[i] - b[i]) <= 1e-4 * scale,
          `x=[${xs}] w=[${ws}] s=${stride} pad=${pad}: ${name}[${i}] wasm ${a[i]}, cpu ${b[i]}`,
        );
      }
    }
  });
  assert.ok(cases.length >= 150);
});

Deno.test("registerFastGrads() wasm MaxPoolGrad sends a window's gradient to its NaN, as PyTorch does", async () => {
  await setBackend("wasm");
  for (
    const [values, shape, size, want] of [
      [[NaN, 1, 2, 3], [1, 2, 2, 1], 2, [1, 0, 0, 0]], // the 2x2 fast path
      [[0, 1, 2, 3, NaN, 5, 6, 7, 8], [1, 3, 3, 1], 3, [0, 0, 0, 0, 1, 0, 0, 0, 0]], // the general loop
    ] as [number[], [number, number, number, number], number, number[]][]
  ) {
    const x = tf.tensor4d(values, shape);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, size, size, "valid")))(
      x,
    );
    assert.deepEqual([...dx.dataSync()], want);
    tf.dispose([x, dx]);
  }
  await setBackend("cpu");
});
