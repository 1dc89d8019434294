import assert from "node:assert/strict";
import { gpuAdapterInfo, setBackend, tf } from "convkit/tf/backend.ts";
import {
  checkWebgpuKernels,
  registerWebgpuKernels,
  webgpuKernelsInfo,
} from "convkit/tf/webgpu_kernels.ts";

// The start-up check useBackend("auto") runs on a GPU: on Deno's software adapter here (CI), skipped
// without one. Its own file: the second test breaks a kernel on purpose.
const adapter = await gpuAdapterInfo();
if (!adapter) console.warn("webgpu_check_test: no WebGPU adapter here; skipped");

Deno.test({
  name: "checkWebgpuKernels() passes the kit's kernels on this adapter and keeps them",
  ignore: !adapter,
  async fn() {
    registerWebgpuKernels();
    await setBackend("webgpu");
    assert.equal(await checkWebgpuKernels(), undefined);
    assert.deepEqual(webgpuKernelsInfo().kernels, ["Conv2DBackpropFilter", "Conv2DBackpropInput"]);
    await setBackend("cpu");
  },
});

Deno.test({
  name:
    "checkWebgpuKernels() puts tfjs's kernels back when the kit's give wrong numbers, and says where",
  ignore: !adapter,
  async fn() {
    registerWebgpuKernels();
    await setBackend("webgpu");
    // what a driver that miscompiles the filter gradient would give: zeros
    tf.unregisterKernel("Conv2DBackpropFilter", "webgpu");
    tf.registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "webgpu",
      kernelFunc: ({ attrs, backend }) =>
        (backend as unknown as {
          makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo;
        }).makeTensorInfo(
          (attrs as { filterShape: number[] }).filterShape,
          "float32",
          new Float32Array(54),
        ),
    });
    const why = await checkWebgpuKernels();
    assert.match(
      why ?? "",
      /^x=\[2,9,9,3\] w=\[3,3,3,2\] stride 2 pad 1: relative error dx \d\.\de-\d, dw 1\.0e\+0$/,
    );
    assert.deepEqual(webgpuKernelsInfo().kernels, []);
    // a second check (a notebook's backend cell run again) says the same, not "checked"
    assert.equal(await checkWebgpuKernels(), why);
    assert.equal(webgpuKernelsInfo().putAside, why);
    // tfjs's filter gradient is back: a 1x1 conv's dw is sum(x·dy)
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), dy = tf.tensor4d([1, 1, 2, 2], [1, 2, 2, 1]);
    const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      strides: 1,
      pad: "valid",
      dataFormat: "NHWC",
      dimRoundingMode: undefined,
      filterShape: [1, 1, 1, 1],
    } as never) as tf.Tensor;
    assert.deepEqual([...await dw.data()], [1 + 2 + 6 + 8]);
    tf.dispose([x, dy, dw]);
    await setBackend("cpu");
  },
});
