/**
 * `deno task bench [--quick] [--out DIR]`: the kit's conv paths and its peers from npm on the same
 * workloads, in one process and one table.
 *
 * - conv forward and backward: x 100x31x31x3 with 25 3x3 filters at stride 2, pad 1; x 50x32x32x16 with 32
 *   3x3 filters at stride 1, pad 1 (ms and GFLOP/s);
 * - the ConvNetJS CIFAR-10 network: training at batch 32 and inference at batch 256 (images/s);
 * - LeNet-5 on 32x32x1 (the kit's build: ReLU, average pools): training at batch 64 (images/s).
 *
 * Paths: the kit's naive and im2col layers (float64), stock tfjs cpu and wasm, tfjs wasm with the kit's
 * training kernels (on one thread, and on every core: `lib/tf/wasm_threads.ts`), and ConvNetJS. Every path is checked against the kit's naive float64 layer before it
 * is timed (worst-element relative error below 1e-12 for float64 paths; for float32 ones below 1e-3 forward
 * and 5e-3 backward, where dw sums N*H*W products: 51,200 in the second workload); times are medians after
 * warm-up. `--quick` (what CI runs) shrinks batches and repetitions
 * so that the whole run takes seconds. Results go to stdout as markdown and to DIR (default
 * build/bench) as bench.md and bench.json.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { parseArgs } from "node:util";
import convnetjs from "convnetjs";
import { relError } from "../lib/compare.ts";
import { conv2dBackward, conv2dForward } from "../lib/layers/conv2d.ts";
import { tfjsModel } from "../lib/models/tfjs.ts";
import type { ModelSpec } from "../lib/models/spec.ts";
import { convnetjsCifar10, lenet5 } from "../lib/models/zoo.ts";
import { conv2dBackwardIm2col, conv2dForwardIm2col } from "../lib/layers/conv2d_im2col.ts";
import { randn, Rng } from "../lib/random.ts";
import type { Tensor } from "../lib/tensor.ts";
import { setBackend, tf, wasmInfo } from "../lib/tf/backend.ts";
import { fromTf, toTf } from "../lib/tf/convert.ts";
import { registerFastGrads } from "../lib/tf/fast_grads.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean" },
    out: { type: "string" },
    // internal: the single-threaded wasm part, run in a child process (see "run" below)
    "one-thread-part": { type: "boolean" },
  },
});
const quick = values.quick ?? false;
const onePart = values["one-thread-part"] ?? false;
const outDir = values.out ?? new URL("../build/bench", import.meta.url).pathname;
const cj = convnetjs as any;

interface Row {
  workload: string;
  path: string;
  result: string;
  value?: number;
  unit?: string;
  check?: string;
}
const rows: Row[] = [];
let peakRss = 0;
const sample = () => peakRss = Math.max(peakRss, Deno.memoryUsage().rss);

// Timed closures return nothing from tf.tidy: tidy walks what it returns looking for tensors, element by
// element through a typed array (a 1.6M-element conv output took ~1 s; tfjs-wasm looked 50x slower than it is)
async function median(
  f: () => unknown | Promise<unknown>,
  reps: number,
  warmup = 1,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    await f();
    // a path that takes seconds a call (stock tfjs-cpu's conv backward) is timed once more, not five times
    if (performance.now() - t0 > 3000) reps = 1;
  }
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
    sample();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function record(r: Row) {
  rows.push(r);
  console.error(`${r.workload} | ${r.path} | ${r.result}${r.check ? ` | ${r.check}` : ""}`);
}

// ---- conv forward and backward --------------------------------------------------------------------------
interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  pad: number;
}
const convCases: ConvCase[] = [
  {
    name: "conv x=100x31x31x3 w=3x3x3x25 s=2 p=1",
    x: [quick ? 4 : 100, 31, 31, 3],
    w: [3, 3, 3, 25],
    stride: 2,
    pad: 1,
  },
  {
    name: "conv x=50x32x32x16 w=3x3x16x32 s=1 p=1",
    x: [quick ? 2 : 50, 32, 32, 16],
    w: [3, 3, 16, 32],
    stride: 1,
    pad: 1,
  },
];

function tfConv(c: ConvCase, x: Tensor, w: Tensor, dout: Tensor) {
  const xt = toTf(x) as tf.Tensor4D, wt = toTf(w) as tf.Tensor4D, dt = toTf(dout) as tf.Tensor4D;
  // both workloads' pads are what tfjs calls "same"; explicit pad arrays take a slower path in tfjs-wasm
  const same = Math.ceil(c.x[1] / c.stride) === (c.x[1] - c.w[0] + 2 * c.pad) / c.stride + 1;
  const pad = (same ? "same" : [[0, 0], [c.pad, c.pad], [c.pad, c.pad], [0, 0]]) as never;
  const forward = () => tf.conv2d(xt, wt, c.stride, pad);
  const backward = () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad), dt))
    )([xt, wt]);
  return { xt, wt, dt, forward, backward };
}

async function convBench(c: ConvCase) {
  const rng = new Rng(1);
  const x = randn(c.x, rng),
    w = randn(c.w, rng),
    b = { data: new Float64Array(c.w[3]), shape: [c.w[3]] };
  const opts = { stride: c.stride, pad: c.pad };
  const ref = conv2dForward(x, w, b, opts);
  const dout = randn(ref.out.shape, rng);
  const refGrads = conv2dBackward(dout, ref.cache);
  const [, oh, ow, k] = ref.out.shape;
  const gflop = 2 * c.x[0] * oh * ow * k * c.w[0] * c.w[1] * c.w[2] / 1e9;
  const reps = quick ? 1 : 5;
  const speed = (ms: number, flop: number) =>
    `${ms.toFixed(1)} ms, ${(flop / ms * 1e3).toFixed(2)} GFLOP/s`;

  const fwd = async (
    path: string,
    run: () => Promise<Tensor> | Tensor,
    time: () => unknown,
    tol: number,
  ) => {
    const e = relError(await run(), ref.out);
    if (!(e < tol)) {
      throw new Error(`${path} forward differs from the reference: relative error ${e}`);
    }
    const ms = await median(time, reps);
    record({
      workload: `${c.name} forward`,
      path,
      result: speed(ms, gflop),
      value: gflop / ms * 1e3,
      unit: "GFLOP/s",
      check: `rel err ${e.toExponential(0)}`,
    });
  };
  const bwd = async (
    path: string,
    run: () => Promise<[Tensor, Tensor]>,
    time: () => unknown,
    tol: number,
  ) => {
    const [dx, dw] = await run();
    const e = Math.max(relError(dx, refGrads.dx), relError(dw, refGrads.dw));
    if (!(e < tol)) {
      throw new Error(`${path} backward differs from the reference: relative error ${e}`);
    }
    const ms = await median(time, reps);
    record({
      workload: `${c.name} backward`,
      path,
      result: speed(ms, 2 * gflop),
      value: 2 * gflop / ms * 1e3,
      unit: "GFLOP/s",
      check: `rel err ${e.toExponential(0)}`,
    });
  };

  // a tfjs conv's gradients, on whichever backend (and kernels) tfjs has now
  const tfjsBwd = (label: string, t: ReturnType<typeof tfConv>) =>
    bwd(
      label,
      async () => {
        const [dx, dw] = t.backward();
        return [await fromTf(dx), await fromTf(dw)];
      },
      () => tf.tidy(() => t.backward().forEach((g) => g.dataSync())),
      5e-3,
    );
  const bwdKit = async (label: string) => {
    const t = tfConv(c, x, w, dout);
    await tfjsBwd(label, t);
    tf.dispose([t.xt, t.wt, t.dt]);
  };
  // a tfjs backend's own kernels: forward, and backward where the backend has the kernels
  const tfjsRows = async (label: string) => {
    const t = tfConv(c, x, w, dout);
    await fwd(
      label,
      async () => await fromTf(t.forward()),
      () => tf.tidy(() => void t.forward().dataSync()),
      1e-3,
    );
    if (tf.getBackend() === "wasm" && !tf.getKernel("Conv2DBackpropFilter", "wasm")) {
      record({
        workload: `${c.name} backward`,
        path: label,
        result: "cannot run: tfjs-wasm has no Conv2DBackpropFilter kernel",
      });
    } else {
      await tfjsBwd(label, t);
    }
    tf.dispose([t.xt, t.wt, t.dt]);
  };
  if (onePart) return { bwdKit, tfjsRows };

  await fwd("kit naive (f64)", () => ref.out, () => conv2dForward(x, w, b, opts), 1e-12);
  await fwd(
    "kit im2col (f64)",
    () => conv2dForwardIm2col(x, w, b, opts).out,
    () => conv2dForwardIm2col(x, w, b, opts),
    1e-12,
  );
  await bwd(
    "kit naive (f64)",
    () => Promise.resolve([refGrads.dx, refGrads.dw] as [Tensor, Tensor]),
    () => conv2dBackward(dout, ref.cache),
    1e-12,
  );
  const im = conv2dForwardIm2col(x, w, b, opts);
  await bwd(
    "kit im2col (f64)",
    () => {
      const g = conv2dBackwardIm2col(dout, im.cache);
      return Promise.resolve([g.dx, g.dw] as [Tensor, Tensor]);
    },
    () => conv2dBackwardIm2col(dout, im.cache),
    1e-12,
  );

  if (!onePart) {
    await setBackend("cpu");
    await tfjsRows("tfjs-cpu");
  }
  return { bwdKit, tfjsRows };
}

// ---- networks: the ConvNetJS CIFAR-10 net and LeNet-5 ------------------------------------------------------
interface Net {
  name: string;
  spec: () => ModelSpec;
  /** ConvNetJS layer definitions of the same network (as near as ConvNetJS can build it). */
  convnetjs: unknown[];
  /** What differs in ConvNetJS's build, if anything. */
  convnetjsNote?: string;
  trainBatch: number;
  /** Inference is measured for this net only when set. */
  inferBatch?: number;
}

const cjConv = (filters: number, pad: number) => ({
  type: "conv",
  sx: 5,
  filters,
  stride: 1,
  pad,
  activation: "relu",
});
const cjPool = { type: "pool", sx: 2, stride: 2 };
const nets: Net[] = [
  {
    name: "ConvNetJS net",
    spec: convnetjsCifar10,
    convnetjs: [
      { type: "input", out_sx: 32, out_sy: 32, out_depth: 3 },
      cjConv(16, 2),
      cjPool,
      cjConv(20, 2),
      cjPool,
      cjConv(20, 2),
      cjPool,
      { type: "softmax", num_classes: 10 },
    ],
    trainBatch: 32,
    inferBatch: 256,
  },
  {
    name: "LeNet-5",
    spec: lenet5,
    convnetjs: [
      { type: "input", out_sx: 32, out_sy: 32, out_depth: 1 },
      cjConv(6, 0),
      cjPool,
      cjConv(16, 0),
      cjPool,
      cjConv(120, 0),
      { type: "fc", num_neurons: 84, activation: "relu" },
      { type: "softmax", num_classes: 10 },
    ],
    convnetjsNote: "max pools: ConvNetJS has no average pool",
    trainBatch: 64,
  },
];

function inputShape(net: Net): number[] {
  return [...net.spec().input];
}

async function tfjsTraining(net: Net, label: string, batch: number, steps: number) {
  const model = tfjsModel(net.spec(), { logits: true });
  const opt = tf.train.momentum(0.01, 0.9);
  const x = tf.randomNormal([batch, ...inputShape(net)], 0, 1, "float32", 2);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32"), 10);
  const step = () => {
    const l = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    l.dataSync();
    l.dispose();
  };
  const workload = `${net.name} training, batch ${net.trainBatch}`;
  try {
    const ms = await median(step, steps, 1);
    record({
      workload,
      path: label,
      result: `${(batch / ms * 1e3).toFixed(0)} images/s`,
      value: batch / ms * 1e3,
      unit: "images/s",
    });
  } catch (e) {
    record({
      workload,
      path: label,
      result: `cannot run: ${(e as Error).message.split("\n")[0].slice(0, 90)}`,
    });
  }
  if (net.inferBatch) {
    const xi = tf.randomNormal(
      [quick ? 32 : net.inferBatch, ...inputShape(net)],
      0,
      1,
      "float32",
      3,
    );
    const ms = await median(
      () => tf.tidy(() => void (model.predict(xi) as tf.Tensor).dataSync()),
      quick ? 1 : 5,
      1,
    );
    record({
      workload: `${net.name} inference, batch ${net.inferBatch}`,
      path: label,
      result: `${(xi.shape[0] / ms * 1e3).toFixed(0)} images/s`,
      value: xi.shape[0] / ms * 1e3,
      unit: "images/s",
    });
    xi.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
}

async function convnetjsRuns(net: Net) {
  const cjNet = new cj.Net();
  cjNet.makeLayers(net.convnetjs);
  const trainer = new cj.SGDTrainer(cjNet, {
    method: "sgd",
    learning_rate: 0.01,
    momentum: 0.9,
    batch_size: net.trainBatch,
  });
  const rng = new Rng(4);
  const [h, w, c] = inputShape(net);
  const vol = new cj.Vol(w, h, c, 0.0);
  for (let i = 0; i < vol.w.length; i++) vol.w[i] = rng.normal();
  const path = `ConvNetJS 0.3.0${net.convnetjsNote ? ` (${net.convnetjsNote})` : ""}`;
  const n = quick ? 4 : 2 * net.trainBatch;
  const ms = await median(
    () => {
      for (let i = 0; i < n; i++) trainer.train(vol, i % 10);
    },
    1,
    0,
  );
  record({
    workload: `${net.name} training, batch ${net.trainBatch}`,
    path,
    result: `${(n / ms * 1e3).toFixed(0)} images/s`,
    value: n / ms * 1e3,
    unit: "images/s",
  });
  if (net.inferBatch) {
    const m = quick ? 32 : net.inferBatch;
    const ims = await median(
      () => {
        for (let i = 0; i < m; i++) cjNet.forward(vol, false);
      },
      1,
      0,
    );
    record({
      workload: `${net.name} inference, batch ${net.inferBatch}`,
      path,
      result: `${(m / ims * 1e3).toFixed(0)} images/s`,
      value: m / ims * 1e3,
      unit: "images/s",
    });
  }
}

// ---- run ---------------------------------------------------------------------------------------------------
// tfjs-wasm picks its thread count once per process, so the single-threaded wasm paths (stock tfjs-wasm
// as it runs in Deno, and the kit's kernels on one thread) run in a child process with
// CONVKIT_WASM_THREADS=1; this process runs the rest, the kit's wasm path on every core.
const started = performance.now();
const benches = [];
for (const c of convCases) benches.push(await convBench(c));
const stock = "tfjs-wasm (stock, 1 thread)";
const kitOne = "tfjs-wasm + kit kernels, 1 thread";

if (onePart) {
  await setBackend("wasm");
  for (const b of benches) await b.tfjsRows(stock);
  for (const net of nets) await tfjsTraining(net, stock, quick ? 4 : net.trainBatch, 1);
  registerFastGrads();
  for (const b of benches) await b.bwdKit(kitOne);
  for (const net of nets) await tfjsTraining(net, kitOne, net.trainBatch, quick ? 2 : 30);
  console.log(JSON.stringify({ rows, peakRss }));
  Deno.exit(0);
}

for (const net of nets) {
  await setBackend("cpu");
  await tfjsTraining(net, "tfjs-cpu", quick ? 4 : net.trainBatch, 1);
  await convnetjsRuns(net);
}

const child = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--one-thread-part",
    ...(quick ? ["--quick"] : []),
  ],
  env: { CONVKIT_WASM_THREADS: "1" },
  stderr: "inherit",
}).output();
if (!child.success) throw new Error("the single-threaded wasm part of the benchmark failed");
// its last line of output is the JSON (tfjs may print notes before it)
const lines = new TextDecoder().decode(child.stdout).trim().split("\n");
const part = JSON.parse(lines[lines.length - 1]) as { rows: Row[]; peakRss: number };
rows.push(...part.rows);
peakRss = Math.max(peakRss, part.peakRss);

// the kit's fast path: tfjs-wasm on every core with the kit's training kernels
registerFastGrads();
await setBackend("wasm");
const kit = `tfjs-wasm + kit kernels, ${wasmInfo().threads} threads`;
for (const b of benches) await b.bwdKit(kit);
for (const net of nets) {
  await tfjsTraining(net, kit, net.trainBatch, quick ? 2 : 30);
}

// one table: each workload's rows together, in the order the workloads first appear
const order = [...new Set(rows.map((r) => r.workload))];
rows.sort((p, q) => order.indexOf(p.workload) - order.indexOf(q.workload));

// ---- report ------------------------------------------------------------------------------------------------
const machine =
  `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
// the kit's fast path against every other path on the same workload
const summary = rows.filter((r) => r.path === kit && r.value).map((k) => {
  const ratios = rows.filter((r) => r.workload === k.workload && r.path !== kit && r.value)
    .map((r) => `${(k.value! / r.value!).toFixed(k.value! / r.value! < 10 ? 1 : 0)}x ${r.path}`);
  return `- ${k.workload}: ${k.result}${ratios.length ? `; ${ratios.join(", ")}` : ""}`;
});
const md = [
  `# convkit benchmark${
    quick ? " (quick: small batches, one repetition; not for comparison)" : ""
  }`,
  "",
  `${new Date().toISOString().slice(0, 10)}, ${machine}, peak RSS ${
    (peakRss / 2 ** 20).toFixed(0)
  } MiB, ${((performance.now() - started) / 1000).toFixed(0)} s`,
  "",
  "| workload | path | result | check |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.workload} | ${r.path} | ${r.result} | ${r.check ?? ""} |`),
  "",
  `The kit's fast path (${kit}) against the other paths:`,
  "",
  ...summary,
].join("\n");
console.log(md);
await Deno.mkdir(outDir, { recursive: true });
await Deno.writeTextFile(`${outDir}/bench.md`, md + "\n");
await Deno.writeTextFile(
  `${outDir}/bench.json`,
  JSON.stringify({ quick, machine, peakRss, rows }, null, 2) + "\n",
);
