import assert from "node:assert/strict";
import * as tfl from "@tensorflow/tfjs-layers";
import { randLabels, Rng } from "convkit/random.ts";
import { gpuAdapterInfo, setBackend, tf } from "convkit/tf/backend.ts";
import { registerWebgpuKernels, webgpuKernelsInfo } from "convkit/tf/webgpu_kernels.ts";
import { evaluate, seedWeights, type Split, trainTfjs } from "convkit/train/trainer.ts";

// Notebook 17 trains with useBackend("auto"): on a GPU adapter that is webgpu with the kit's conv
// gradient kernels, where tfjs allows only asynchronous reads. CI runs this on Deno's software adapter
// (llvmpipe); without any adapter it is skipped, saying so.
const adapter = await gpuAdapterInfo();
if (!adapter) console.warn("trainer_webgpu_test: no WebGPU adapter here; skipped");
registerWebgpuKernels();

/** conv 3x3 (stride 1, same) + ReLU, conv 3x3 stride 2 + ReLU, 2x2 max pool, dense: both kit kernels run. */
function net() {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.conv2d({
        filters: 6,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ],
  });
  seedWeights(model, 5);
  return model;
}

function synthetic(n: number, seed: number): Split {
  const rng = new Rng(seed);
  const labels = randLabels(n, 3, rng);
  const images = new Uint8Array(n * 8 * 8 * 3).map((_, i) => {
    const img = Math.floor(i / 192), ch = i % 3;
    return Math.min(255, Math.floor(rng.uniform() * 128) + (ch === labels[img] ? 120 : 0));
  });
  return { images, labels, n, shape: [8, 8, 3] };
}

async function run(backend: "cpu" | "webgpu") {
  await setBackend(backend);
  const model = net();
  const before = tf.memory().numTensors;
  const { history } = await trainTfjs(model, synthetic(24, 1), {
    epochs: 2,
    batchSize: 8,
    optimizer: { name: "adam", lr: 0.01 },
    seed: 3,
    augment: { flip: true },
    validation: synthetic(12, 2),
  });
  const leaked = tf.memory().numTensors - before;
  const { predictions } = await evaluate(model, synthetic(12, 2));
  model.dispose();
  return { history, leaked, predictions: [...predictions] };
}

Deno.test({
  name:
    "trainTfjs() on webgpu with the kit's kernels (asynchronous reads only) gives cpu's losses and predictions",
  ignore: !adapter,
  async fn() {
    const fallbacksBefore = webgpuKernelsInfo().fallbacks;
    const gpu = await run("webgpu");
    const cpu = await run("cpu");
    assert.deepEqual(webgpuKernelsInfo().fallbacks, fallbacksBefore); // the kit's kernels ran
    for (const [i, h] of gpu.history.entries()) {
      const c = cpu.history[i];
      assert.ok(
        Math.abs(h.loss - c.loss) <= 1e-4 * Math.abs(c.loss),
        `epoch ${i + 1}: ${h.loss} vs ${c.loss}`,
      );
      assert.equal(h.trainAcc, c.trainAcc);
      assert.equal(h.valAcc, c.valAcc);
    }
    assert.deepEqual(gpu.predictions, cpu.predictions);
    assert.equal(gpu.leaked, 0, "tensors left behind on webgpu");
    assert.equal(cpu.leaked, 0, "tensors left behind on cpu");
    await setBackend("cpu");
  },
});
