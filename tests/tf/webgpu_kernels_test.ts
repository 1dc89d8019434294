import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { conv2dBackward, conv2dForward } from "convkit/layers/conv2d.ts";
import { randn, Rng } from "convkit/random.ts";
import { gpuAdapterInfo, setBackend, tf } from "convkit/tf/backend.ts";
import { fromTf, toTf } from "convkit/tf/convert.ts";
import { registerWebgpuKernels, splitK, webgpuKernelsInfo } from "convkit/tf/webgpu_kernels.ts";

// CI runs these on Deno's software adapter (llvmpipe); without any adapter they are skipped, saying so
const adapter = await gpuAdapterInfo();
const ignore = !adapter;
if (ignore) {
  console.warn("webgpu_kernels_test: no WebGPU adapter here; the webgpu kernel tests are skipped");
}
registerWebgpuKernels();
// Every shader compiles on first use; Mesa keeps them (~/.cache/mesa_shader_cache). On this 2-core
// machine (2026-11-30) the sweep took 4.5 min with its shaders compiling (llvmpipe took 27 s for the
// filter gradient's, 60 s for the input gradient's: reading two storage buffers in the tile loads is what
// it compiles slowly; one buffer, 0.1 s) and 4 s once cached, so CI runs it always.
type Pad = "valid" | "same" | number;

/**
 * y = conv2d(x, w), and dx and dw of sum(y * (1, 2, 3, ...)), on `backend`: what training asks the backend
 * for (the forward conv is stock tfjs-webgpu's; checked too, as the sweep asks).
 */
async function grads(
  backend: "cpu" | "webgpu",
  xs: number[],
  ws: number[],
  stride: number,
  pad: Pad,
  seed: number,
): Promise<[Float32Array, Float32Array, Float32Array]> {
  await setBackend(backend);
  const rng = new Rng(seed);
  const x = toTf(randn(xs, rng)) as tf.Tensor4D, w = toTf(randn(ws, rng)) as tf.Tensor4D;
  const padding = typeof pad === "number" ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : pad;
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding as never);
    return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
  })([x, w]);
  const y = tf.conv2d(x, w, stride, padding as never);
  const out: [Float32Array, Float32Array, Float32Array] = [
    await dx.data() as Float32Array,
    await dw.data() as Float32Array,
    await y.data() as Float32Array,
  ];
  tf.dispose([x, w, dx, dw, y]);
  return out;
}

Deno.test({
  name:
    "registerWebgpuKernels() webgpu y, dx and dw match tfjs-cpu over a seeded sweep of sizes, filters, strides, paddings and batches",
  ignore,
  async fn() {
    // odd sizes, batches 1-5, strides 1-3, valid/same/explicit padding, filter counts on both sides of
    // the tile widths (16, 32, 64), and a product long enough to be split (split-K)
    const cases: [number[], number[], number, Pad][] = [
      [[1, 5, 5, 1], [1, 1, 1, 3], 1, "valid"],
      [[2, 7, 5, 3], [3, 3, 3, 4], 2, "same"],
      [[3, 6, 8, 2], [2, 2, 2, 5], 3, 1],
      [[4, 9, 9, 3], [5, 5, 3, 17], 1, 2],
      [[5, 8, 7, 4], [3, 3, 4, 33], 2, "valid"],
      [[2, 11, 10, 5], [3, 3, 5, 70], 1, "same"],
      [[5, 32, 32, 3], [5, 5, 3, 16], 1, "same"],
      [[1, 10, 10, 2], [3, 3, 2, 2], 3, "same"],
    ];
    assert.ok(splitK(75, 16, 5 * 32 * 32).splits > 1); // the split-K path is in the sweep
    for (const [k, [xs, ws, stride, pad]] of cases.entries()) {
      const gpu = await grads("webgpu", xs, ws, stride, pad, 300 + k);
      const cpu = await grads("cpu", xs, ws, stride, pad, 300 + k);
      for (const [g, name] of [[0, "dx"], [1, "dw"], [2, "y"]] as const) {
        const a = gpu[g], b = cpu[g];
        for (let i = 0; i < b.length; i++) {
          assert.ok(
            Math.abs(a[i] - b[i]) <= 1e-4 + 1e-3 * Math.abs(b[i]),
            `x=[${xs}] w=[${ws}] s=${stride} pad=${pad}: ${name}[${i}] webgpu ${a[i]}, cpu ${b[i]}`,
          );
        }
      }
    }
    assert.deepEqual(webgpuKernelsInfo().fallbacks, {});
    await setBackend("cpu");
  },
});

Deno.test({
  name:
    "registerWebgpuKernels() webgpu dx and dw match the float64 teaching layer x=[2,9,9,3] w=[3,3,3,2] s=2 p=1",
  ignore,
  async fn() {
    await setBackend("webgpu");
    const rng = new Rng(4);
    const x = randn([2, 9, 9, 3], rng), w = randn([3, 3, 3, 2], rng), b = randn([2], rng);
    const { out, cache } = conv2dForward(x, w, b, { stride: 2, pad: 1, rounding: "floor" });
    const dout = randn(out.shape, rng);
    const ref = conv2dBackward(dout, cache);
    const xt = toTf(x) as tf.Tensor4D, wt = toTf(w) as tf.Tensor4D, dyt = toTf(dout) as tf.Tensor4D;
    const pad = [[0, 0], [1, 1], [1, 1], [0, 0]] as never;
    const [dx, dw] = tf.grads((a: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, pad), dyt))
    )([xt, wt]);
    const errDx = relError(await fromTf(dx), ref.dx), errDw = relError(await fromTf(dw), ref.dw);
    assert.ok(errDx < 1e-4, `dx ${errDx}`);
    assert.ok(errDw < 1e-4, `dw ${errDw}`);
    tf.dispose([xt, wt, dyt, dx, dw]);
    await setBackend("cpu");
  },
});

Deno.test({
  name:
    "registerWebgpuKernels() webgpu filter gradient with dilation 2 equals the undilated one of the zero-inserted filter",
  ignore,
  async fn() {
    // tfjs's conv gradient refuses dilations > 1, so the kernel is called directly. Reference (cpu): a
    // 3x3 filter dilated by 2 is a 5x5 filter with zeros between its taps; its gradient at the taps is
    // the dilated filter's gradient.
    const rng = new Rng(9);
    const xs = [2, 9, 8, 3], fshape = [3, 3, 3, 2];
    const x = randn(xs, rng);
    const run = async (backend: "cpu" | "webgpu", filterShape: number[], dilations: number) => {
      await setBackend(backend);
      const xt = toTf(x) as tf.Tensor4D;
      const dy = tf.div(tf.reshape(tf.range(1, 2 * 5 * 4 * 2 + 1), [2, 5, 4, 2]), 10);
      const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x: xt, dy }, {
        strides: 1,
        pad: "valid",
        dataFormat: "NHWC",
        dimRoundingMode: undefined,
        filterShape,
        dilations,
      } as never) as tf.Tensor;
      const out = await dw.data();
      tf.dispose([xt, dy, dw]);
      return out;
    };
    const gpu = await run("webgpu", fshape, 2);
    const full = await run("cpu", [5, 5, 3, 2], 1);
    for (let a = 0; a < 3; a++) {
      for (let q = 0; q < 3; q++) {
        for (let c = 0; c < 6; c++) {
          const want = full[((2 * a * 5) + 2 * q) * 6 + c], got = gpu[(a * 3 + q) * 6 + c];
          assert.ok(
            Math.abs(got - want) <= 1e-3 * Math.abs(want) + 1e-4,
            `(${a},${q},${c}) ${got} ${want}`,
          );
        }
      }
    }
    await setBackend("cpu");
  },
});

Deno.test({
  name:
    "registerWebgpuKernels() hands int32 operands and over-wide products to the stock kernels, and gives zeros for an empty batch",
  ignore,
  async fn() {
    await setBackend("webgpu");
    const before = webgpuKernelsInfo().fallbacks;
    const attrs = { strides: 1, pad: "valid", dataFormat: "NHWC", dimRoundingMode: undefined };
    const run = async (kernel: string, inputs: Record<string, tf.Tensor>, extra: object) => {
      const out = tf.engine().runKernel(
        kernel,
        inputs,
        { ...attrs, ...extra } as never,
      ) as tf.Tensor;
      const values = await out.data();
      tf.dispose(out);
      return values;
    };
    // int32 dy (filter gradient) and int32 filter (input gradient): 1x1 convs, so each entry is a product
    const x = tf.tensor4d([1.5, -2, 0.5, 3], [1, 2, 2, 1]);
    const dyInt = tf.tensor4d([2, 3, -1, 4], [1, 2, 2, 1], "int32");
    const dw = await run("Conv2DBackpropFilter", { x, dy: dyInt }, { filterShape: [1, 1, 1, 1] });
    assert.deepEqual([...dw], [1.5 * 2 - 2 * 3 - 0.5 + 3 * 4]);
    const dy = tf.tensor4d([1.5, -2, 0.5, 3], [1, 2, 2, 1]);
    const wInt = tf.tensor4d([3], [1, 1, 1, 1], "int32");
    const dx = await run("Conv2DBackpropInput", { dy, filter: wInt }, { inputShape: [1, 2, 2, 1] });
    assert.deepEqual([...dx], [4.5, -6, 1.5, 9]);
    // 4,200,000 filters: more than 65535 tiles of 64 columns
    const k = 4_200_000;
    const one = tf.ones([1, 1, 1, 1]), dyWide = tf.ones([1, 1, 1, k]);
    const wide = await run("Conv2DBackpropFilter", { x: one, dy: dyWide }, {
      filterShape: [1, 1, 1, k],
    });
    assert.equal(wide.length, k);
    assert.ok(wide.every((v) => v === 1));
    // an empty batch: nothing to sum
    const x0 = tf.zeros([0, 5, 5, 3]), dy0 = tf.zeros([0, 3, 3, 4]);
    const dw0 = await run("Conv2DBackpropFilter", { x: x0, dy: dy0 }, {
      filterShape: [3, 3, 3, 4],
    });
    assert.deepEqual([...dw0], new Array(108).fill(0));
    const after = webgpuKernelsInfo().fallbacks;
    const grew = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    assert.equal(grew("Conv2DBackpropFilter: a dtype other than float32"), 1);
    assert.equal(grew("Conv2DBackpropInput: a dtype other than float32"), 1);
    assert.equal(
      grew("Conv2DBackpropFilter: more than 65535 tiles along a side of the product"),
      1,
    );
    tf.dispose([x, dyInt, dy, wInt, one, dyWide, x0, dy0]);
    await setBackend("cpu");
  },
});
