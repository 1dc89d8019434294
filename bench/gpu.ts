/**
 * GPU profile of tfjs-webgpu training in Deno, stock and with the kit's conv gradient kernels
 * (lib/tf/webgpu_kernels.ts), and PyTorch CUDA on the same nets where python3 has torch with a GPU.
 *
 * Prepared for the GPU machine (see ../shared/gpu/README.md: bundle this file with prepare.sh, run it
 * there once); it also runs here on a software WebGPU adapter with `--quick`, which checks the script, not
 * the speed. For each net (the ConvNetJS CIFAR-10 net at batch 256, a VGG-style net at batch 128) it:
 * checks one training step against the cpu backend (same weights, same batch: relative error of the loss),
 * times steps after warm-up (images/s), and profiles one step with tf.profile: kernels dispatched, the
 * time in each kind of kernel, and the share of Conv2DBackpropFilter. Writes JSON to $OUT (when set) or
 * build/bench/gpu.json. Each net runs twice, stock tfjs-webgpu first, then (after `registerWebgpuKernels`)
 * with the kit's kernels and its SGD update (lib/tf/webgpu_optimizers.ts: one dispatch a variable, as
 * `trainTfjs` trains), each checked against cpu before it is timed; then PyTorch CUDA (an inline script
 * run by python3, so the bundle needs nothing else). Its last line gives the speed-ups over stock.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { tfjsModel } from "../lib/models/tfjs.ts";
import { convnetjsCifar10 } from "../lib/models/zoo.ts";
import { gpuAdapterInfo, setBackend, tf } from "../lib/tf/backend.ts";
import {
  checkWebgpuKernels,
  countDispatches,
  registerWebgpuKernels,
  webgpuKernelsInfo,
} from "../lib/tf/webgpu_kernels.ts";
import { FusedSGDOptimizer } from "../lib/tf/webgpu_optimizers.ts";
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

/** The update rule of a path: tfjs's SGD (stock), or the kit's with one dispatch a variable. */
type MakeOptimizer = (lr: number) => tf.Optimizer;

async function oneStepLoss(
  make: () => tfl.LayersModel,
  batch: number,
  backend: string,
  sgd: MakeOptimizer,
): Promise<number> {
  await setBackend(backend as "cpu");
  const model = make();
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, "float32", 5);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32"), 10);
  const opt = sgd(0.01);
  opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar);
  const loss = tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor);
  const v = (await loss.data())[0];
  tf.dispose([x, y, loss]);
  model.dispose();
  return v;
}

const cpuLoss = new Map<string, number>();
const stockSgd = (lr: number) => tf.train.sgd(lr);

async function profileNet(
  name: string,
  make: () => tfl.LayersModel,
  batch: number,
  sgd: MakeOptimizer,
) {
  // 4 images: tfjs-cpu's conv gradients are naive (~0.04 GFLOP/s), and the bundle on the GPU machine
  // cannot load the wasm backend; the reference is computed once a net (stock SGD: the same arithmetic)
  const checkBatch = 4;
  const ref = cpuLoss.get(name) ?? await oneStepLoss(make, checkBatch, "cpu", stockSgd);
  cpuLoss.set(name, ref);
  const gpu = await oneStepLoss(make, checkBatch, "webgpu", sgd);
  const relErr = Math.abs(gpu - ref) / Math.abs(ref);
  if (!(relErr < 1e-3)) {
    throw new Error(`${name}: webgpu's loss after one step ${gpu} differs from cpu's ${ref}`);
  }
  await setBackend("webgpu");
  const model = make();
  const opt = sgd(0.01);
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
  const dispatchesPerStep = await countDispatches(step);
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
    dispatchesPerStep,
    kernelMsPerStep: total,
    backpropFilterShare: (byKernel.get("Conv2DBackpropFilter")?.ms ?? 0) / total,
    kernels: kernels.slice(0, 12),
  };
}

/** The same nets trained in PyTorch CUDA (NHWC data permuted to NCHW), images/s; or why not. */
const TORCH = `
import json, sys, time
try:
    import torch, torch.nn as nn
except Exception as e:
    print(json.dumps({"error": f"no torch: {e}"})); sys.exit(0)
if not torch.cuda.is_available():
    print(json.dumps({"error": "torch has no CUDA device"})); sys.exit(0)
dev = torch.device("cuda")
torch.backends.cudnn.benchmark = True
def convnetjs():
    return nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(20, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(320, 10))
def vgg():
    c = lambda i, o: [nn.Conv2d(i, o, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*c(3, 64), *c(64, 64), nn.MaxPool2d(2), *c(64, 128), *c(128, 128), nn.MaxPool2d(2),
        *c(128, 256), *c(256, 256), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4096, 10))
out = {}
for name, make, batch in [("ConvNetJS CIFAR-10 net", convnetjs, int(sys.argv[1])), ("VGG-style net", vgg, int(sys.argv[2]))]:
    torch.manual_seed(0)
    m = make().to(dev); opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x = torch.randn(batch, 3, 32, 32, device=dev); y = torch.arange(batch, device=dev) % 10
    def step():
        opt.zero_grad(); loss = nn.functional.cross_entropy(m(x), y); loss.backward(); opt.step()
    for _ in range(10): step()
    torch.cuda.synchronize(); t = time.perf_counter(); n = 50
    for _ in range(n): step()
    torch.cuda.synchronize(); out[name] = batch * n / (time.perf_counter() - t)
out["device"] = torch.cuda.get_device_name(0)
print(json.dumps(out))
`;

async function torchCuda(convnetBatch: number, vggBatch: number): Promise<Record<string, unknown>> {
  try {
    const r = await new Deno.Command("python3", {
      args: ["-c", TORCH, String(convnetBatch), String(vggBatch)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout).trim().split("\n").at(-1) ?? "";
    return text ? JSON.parse(text) : { error: new TextDecoder().decode(r.stderr).slice(-300) };
  } catch (e) {
    return { error: `python3 did not run: ${e instanceof Error ? e.message : e}` };
  }
}

type NetResult = Awaited<ReturnType<typeof profileNet>>;
type Row = (NetResult & { path: string }) | { path: string; name: string; error: string };

const adapter = await gpuAdapterInfo();
if (!adapter) throw new Error("no WebGPU adapter: nothing to profile");
console.log(
  `adapter: ${adapter.description}${
    adapter.fallback ? " (software: the numbers are only a proxy for a GPU)" : ""
  }`,
);
const out = Deno.env.get("OUT") ?? new URL("../build/bench", import.meta.url).pathname;
await Deno.mkdir(out, { recursive: true });
const batches = { convnetjs: quick ? 8 : 256, vgg: quick ? 4 : 128 };
const nets = [
  ["ConvNetJS CIFAR-10 net", convnetjsNet, batches.convnetjs],
  ["VGG-style net", vggStyle, batches.vgg],
] as const;
const results: Row[] = [];
/** What the kit kernels' start-up check said (undefined: passed, or not run yet). */
const check: { kit?: string } = {};
let torch: Record<string, unknown> = {};

/** Everything measured so far, written after each measurement: a later failure loses nothing. */
async function save(speedUps?: (number | null)[]) {
  const report = {
    date: new Date().toISOString(),
    adapter,
    deno: Deno.version.deno,
    quick,
    results,
    kitKernels: webgpuKernelsInfo(),
    kitCheck: check.kit ?? "passed",
    torch,
    speedUps,
  };
  await Deno.writeTextFile(`${out}/gpu.json`, JSON.stringify(report, null, 2) + "\n");
}

/** Measures one path on one net, prints its row, saves; a failure is recorded and the run goes on. */
async function measure(path: string, net: (typeof nets)[number], sgd: MakeOptimizer) {
  const [name, make, batch] = net;
  try {
    const r = { ...await profileNet(name, make, batch, sgd), path };
    results.push(r);
    console.log(
      `${path}: ${name}, batch ${batch}: ${r.msPerStep.toFixed(1)} ms/step, ${
        r.imagesPerSecond.toFixed(0)
      } images/s; ${r.kernelsPerStep} kernels, ${r.dispatchesPerStep} dispatches a step, ${
        (100 * r.backpropFilterShare).toFixed(0)
      }% of kernel time in Conv2DBackpropFilter; loss after one step vs cpu: rel err ${
        r.checkRelError.toExponential(1)
      }`,
    );
    for (const k of r.kernels.slice(0, 5)) {
      console.log(`  ${k.kernel}: ${k.calls} calls, ${k.ms.toFixed(1)} ms`);
    }
    await save();
    return r;
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    results.push({ path, name, error });
    console.log(`${path}: ${name}: FAILED: ${error}`);
    await save();
    return undefined;
  }
}

const stock: (NetResult | undefined)[] = [];
for (const net of nets) stock.push(await measure("stock tfjs-webgpu", net, stockSgd));
registerWebgpuKernels();
// as useBackend("auto") does on a GPU: the kit's kernels checked on this device first
await setBackend("webgpu");
check.kit = await checkWebgpuKernels();
console.log(`kit kernels' start-up check: ${check.kit ?? "passed"}`);
const kitSgd = (lr: number) => new FusedSGDOptimizer(lr);
const kit: (NetResult | undefined)[] = [];
for (const net of nets) kit.push(await measure("tfjs-webgpu + kit kernels", net, kitSgd));
torch = await torchCuda(batches.convnetjs, batches.vgg);
console.log(`PyTorch CUDA (images/s): ${JSON.stringify(torch)}`);
const speedUps = kit.map((r, i) => {
  const s = stock[i];
  return r && s ? r.imagesPerSecond / s.imagesPerSecond : null;
});
await save(speedUps);
const ratio = (x: number | null) => x === null ? "failed" : `${x.toFixed(1)}x`;
console.log(
  `webgpu training speed-up over stock: ${ratio(speedUps[0])} (ConvNetJS net), ${
    ratio(speedUps[1])
  } (VGG-style)`,
);
if (results.some((r) => "error" in r)) Deno.exitCode = 1;
