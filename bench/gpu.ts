/**
 * GPU profile of stock tfjs-webgpu training in Deno: where a training step's time goes.
 *
 * Prepared for the GPU machine (see ../shared/gpu/README.md: bundle this file with prepare.sh, run it
 * there once); it also runs here on a software WebGPU adapter with `--quick`, which checks the script, not
 * the speed. For each net (the ConvNetJS CIFAR-10 net at batch 256, a VGG-style net at batch 128) it:
 * checks one training step against the cpu backend (same weights, same batch: relative error of the loss),
 * times steps after warm-up (images/s), and profiles one step with tf.profile: kernels dispatched, the
 * time in each kind of kernel, and the share of Conv2DBackpropFilter. Writes JSON to $OUT (when set) or
 * build/bench/gpu.json.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { tfjsModel } from "../lib/models/tfjs.ts";
import { convnetjsCifar10 } from "../lib/models/zoo.ts";
import { gpuAdapterInfo, setBackend, tf } from "../lib/tf/backend.ts";
import { seedWeights } from "../lib/train/trainer.ts";

const quick = Deno.args.includes("--quick");

function convnetjsNet() {
  const model = tfjsModel(convnetjsCifar10(), { logits: true });
  seedWeights(model, 1);
  return model;
}

function vggStyle() {
  const conv = (filters: number, seed: number, first = false) =>
    tfl.layers.conv2d({
      ...(first ? { inputShape: [32, 32, 3] } : {}),
      filters,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      kernelInitializer: tfl.initializers.heNormal({ seed }),
    });
  return tfl.sequential({
    layers: [
      conv(64, 1, true),
      conv(64, 2),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      conv(128, 3),
      conv(128, 4),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      conv(256, 5),
      conv(256, 6),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.heNormal({ seed: 7 }) }),
    ],
  });
}

async function oneStepLoss(
  make: () => tfl.LayersModel,
  batch: number,
  backend: string,
): Promise<number> {
  await setBackend(backend as "cpu");
  const model = make();
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, "float32", 5);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32"), 10);
  const opt = tf.train.sgd(0.01);
  opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar);
  const loss = tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor);
  const v = (await loss.data())[0];
  tf.dispose([x, y, loss]);
  model.dispose();
  return v;
}

async function profileNet(name: string, make: () => tfl.LayersModel, batch: number) {
  const checkBatch = quick ? 4 : 16;
  const ref = await oneStepLoss(make, checkBatch, "cpu");
  const gpu = await oneStepLoss(make, checkBatch, "webgpu");
  const relErr = Math.abs(gpu - ref) / Math.abs(ref);
  if (!(relErr < 1e-3)) {
    throw new Error(`${name}: webgpu's loss after one step ${gpu} differs from cpu's ${ref}`);
  }
  await setBackend("webgpu");
  const model = make();
  const opt = tf.train.sgd(0.01);
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, "float32", 6);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32"), 10);
  const step = async () => {
    const l = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    await l.data(); // webgpu allows only async reads
    l.dispose();
  };
  for (let i = 0; i < (quick ? 1 : 5); i++) await step(); // shader compilation happens here
  const steps = quick ? 2 : 20;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const ms = (performance.now() - t0) / steps;
  const prof = await tf.profile(step);
  const byKernel = new Map<string, { calls: number; ms: number }>();
  for (const k of prof.kernels) {
    const e = byKernel.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += k.kernelTimeMs as number;
    byKernel.set(k.name, e);
  }
  const kernels = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => ({
    kernel: k,
    ...v,
  }));
  const total = kernels.reduce((s, k) => s + k.ms, 0);
  tf.dispose([x, y]);
  model.dispose();
  return {
    name,
    batch,
    checkRelError: relErr,
    msPerStep: ms,
    imagesPerSecond: batch / ms * 1000,
    kernelsPerStep: prof.kernels.length,
    kernelMsPerStep: total,
    backpropFilterShare: (byKernel.get("Conv2DBackpropFilter")?.ms ?? 0) / total,
    kernels: kernels.slice(0, 12),
  };
}

const adapter = await gpuAdapterInfo();
if (!adapter) throw new Error("no WebGPU adapter: nothing to profile");
const results = [
  await profileNet("ConvNetJS CIFAR-10 net", convnetjsNet, quick ? 8 : 256),
  await profileNet("VGG-style net", vggStyle, quick ? 4 : 128),
];
const report = { date: new Date().toISOString(), adapter, deno: Deno.version.deno, quick, results };
for (const r of results) {
  console.log(
    `${r.name}, batch ${r.batch}: ${r.msPerStep.toFixed(1)} ms/step, ${
      r.imagesPerSecond.toFixed(0)
    } images/s; ` +
      `${r.kernelsPerStep} kernels a step, ${
        (100 * r.backpropFilterShare).toFixed(0)
      }% of kernel time in Conv2DBackpropFilter`,
  );
  for (const k of r.kernels.slice(0, 5)) {
    console.log(`  ${k.kernel}: ${k.calls} calls, ${k.ms.toFixed(1)} ms`);
  }
}
const out = Deno.env.get("OUT") ?? new URL("../build/bench", import.meta.url).pathname;
await Deno.mkdir(out, { recursive: true });
await Deno.writeTextFile(`${out}/gpu.json`, JSON.stringify(report, null, 2) + "\n");
console.log(
  `adapter: ${adapter.description}${
    adapter.fallback ? " (software: these numbers say nothing about GPUs)" : ""
  }`,
);
