import assert from "node:assert/strict";
import * as tfl from "@tensorflow/tfjs-layers";
import { gpuAdapterInfo, setBackend, tf } from "convkit/tf/backend.ts";
import { registerWebgpuKernels, webgpuKernelsInfo } from "convkit/tf/webgpu_kernels.ts";
import { evaluate, seedWeights, trainTfjs } from "convkit/train/trainer.ts";
import { layerActivations, predictImage } from "convkit/models/predict.ts";
import { topPatches } from "convkit/plot/feature_hierarchy.ts";
import { loadRun, saveRun } from "convkit/train/saved_run.ts";
import { synthetic } from "./synthetic.ts";

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

Deno.test({
  name:
    "what notebook 17 does after training runs on webgpu (asynchronous reads only) and gives cpu's numbers",
  ignore: !adapter,
  async fn() {
    const dir = await Deno.makeTempDir();
    const input = Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => ((i * 37) % 101) / 50 - 1);
    const after = async (backend: "cpu" | "webgpu") => {
      await setBackend(backend);
      const model = net();
      const { history } = await trainTfjs(model, synthetic(16, 1), {
        epochs: 1,
        batchSize: 8,
        optimizer: { name: "sgd", lr: 0.05 },
        seed: 3,
      });
      const { probabilities } = await predictImage(model, input, ["a", "b", "c"]);
      const maps = await layerActivations(model, input);
      const images = tf.tensor4d(
        Float32Array.from({ length: 6 * 8 * 8 * 3 }, (_, i) => ((i * 13) % 29) / 14 - 1),
        [6, 8, 8, 3],
      );
      const top = await topPatches(model, images, { layers: [model.layers[0]], filters: 2, k: 2 });
      images.dispose();
      await saveRun(`${dir}/${backend}`, model, { recipe: { backend: "any" }, history });
      const loaded = await loadRun(`${dir}/${backend}`, net(), { backend: "any" });
      assert.ok(loaded.model, loaded.reason);
      const again = await predictImage(loaded.model!, input, ["a", "b", "c"]);
      loaded.model!.dispose();
      model.dispose();
      return { probabilities, maps, top, again: again.probabilities };
    };
    const gpu = await after("webgpu"), cpu = await after("cpu");
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      for (let i = 0; i < b.length; i++) {
        assert.ok(
          Math.abs(a[i] - b[i]) <= 1e-4 + 1e-3 * Math.abs(b[i]),
          `${what}[${i}] ${a[i]} ${b[i]}`,
        );
      }
    };
    close(gpu.probabilities, cpu.probabilities, "probabilities");
    close(gpu.again, cpu.probabilities, "probabilities after loadRun");
    assert.equal(gpu.maps.length, 3); // two convs and the pool (tfjs names them per model)
    assert.equal(cpu.maps.length, 3);
    gpu.maps.forEach((m, i) => close(m.activation.data, cpu.maps[i].activation.data, m.name));
    assert.deepEqual(
      JSON.stringify(
        gpu.top.layers[0].filters,
        (_, v) => typeof v === "number" ? Math.round(v * 1e3) : v,
      ),
      JSON.stringify(
        cpu.top.layers[0].filters,
        (_, v) => typeof v === "number" ? Math.round(v * 1e3) : v,
      ),
    );
    await Deno.remove(dir, { recursive: true });
    await setBackend("cpu");
  },
});
