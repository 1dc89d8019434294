/**
 * Fast conv gradients for the tfjs wasm backend, registered as its `Conv2DBackpropFilter` (which tfjs-wasm
 * 4.22 lacks, so stock tfjs-wasm cannot train a ConvNet) and `Conv2DBackpropInput` (which it has, as slow
 * loops). Both hand the arithmetic to XNNPACK, the wasm backend's SIMD engine:
 *
 * - filter gradient: `dW[F*F*C, K] = colsᵀ · dy`, with the transposed im2col matrix `colsᵀ [F*F*C, N*H'*W']`
 *   written directly by the kit (tfjs-wasm's matMul with its `transposeA` flag runs ~10x slower than on a
 *   matrix that is already transposed), then one `BatchMatMul`;
 * - input gradient at stride 1: a forward convolution of `dy` with the filters flipped 180° and their
 *   input/output channels swapped, padded by `F - 1 - P`; other strides keep the stock kernel.
 *
 * The gradients are checked against the kit's float64 teaching layers in tests/tf/fast_conv_grads_test.ts.
 *
 * @module
 */
import { tf } from "./backend.ts";

type Info = tf.TensorInfo;
interface WasmBackend {
  readSync(dataId: object): Float32Array;
  write(values: Float32Array, shape: number[], dtype: string): object;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * `colsᵀ`: for every filter tap (a, q) and channel c, one row holding that input value for every output
 * position (n, oh, ow); zeros where the tap falls in the padding.
 */
export function im2colTransposed(
  x: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): Float32Array {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    filterHeight: fh,
    filterWidth: fw,
  } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const rows = n * oh * ow;
  const out = new Float32Array(fh * fw * c * rows);
  for (let a = 0; a < fh; a++) {
    for (let q = 0; q < fw; q++) {
      for (let ch = 0; ch < c; ch++) {
        const base = ((a * fw + q) * c + ch) * rows;
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < oh; i++) {
            const ih = i * sh - top + a;
            if (ih < 0 || ih >= h) continue;
            const rowBase = base + (b * oh + i) * ow;
            const src = (b * h + ih) * w;
            for (let j = 0; j < ow; j++) {
              const iw = j * sw - left + q;
              if (iw >= 0 && iw < w) out[rowBase + j] = x[(src + iw) * c + ch];
            }
          }
        }
      }
    }
  }
  return out;
}

function convInfo(x: Info, filterShape: number[], attrs: Record<string, unknown>) {
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as number,
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((attrs.dataFormat ?? "NHWC") as "NHWC"),
  );
}

let registered = false;

/**
 * Registers the fast gradients for the wasm backend (once; later calls do nothing). Returns whether the
 * stock kernels were replaced.
 */
export function registerFastConvGrads(): boolean {
  if (registered) return false;
  const stockInput = tf.getKernel("Conv2DBackpropInput", "wasm");
  const batchMatMul = tf.getKernel("BatchMatMul", "wasm");
  const conv2d = tf.getKernel("Conv2D", "wasm");
  if (!batchMatMul || !conv2d) {
    throw new Error(
      "registerFastConvGrads: the wasm backend's BatchMatMul/Conv2D kernels are missing",
    );
  }

  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) {
    tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: Info; dy: Info };
      const filterShape = (attrs as { filterShape: number[] }).filterShape;
      const info = convInfo(x, filterShape, attrs as Record<string, unknown>);
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
        throw new Error("Conv2DBackpropFilter: dilations are not supported");
      }
      const be = backend as unknown as WasmBackend;
      const rows = info.batchSize * info.outHeight * info.outWidth;
      const p = info.filterHeight * info.filterWidth * info.inChannels;
      const colsId = be.write(im2colTransposed(be.readSync(x.dataId), info), [p, rows], "float32");
      const product = batchMatMul.kernelFunc({
        inputs: {
          a: { dataId: colsId, shape: [1, p, rows], dtype: "float32" },
          b: { dataId: dy.dataId, shape: [1, rows, info.outChannels], dtype: "float32" },
        },
        backend,
        attrs: { transposeA: false, transposeB: false },
      }) as Info;
      be.disposeData(colsId);
      return { dataId: product.dataId, shape: filterShape, dtype: "float32" };
    },
  });

  if (stockInput) tf.unregisterKernel("Conv2DBackpropInput", "wasm");
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    // the stock kernel binds its wasm function when the backend starts: keep that for the strided case
    ...(stockInput?.setupFunc ? { setupFunc: stockInput.setupFunc } : {}),
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { dy, filter } = inputs as { dy: Info; filter: Info };
      const inputShape = (attrs as { inputShape: number[] }).inputShape;
      const x = { dataId: dy.dataId, shape: inputShape, dtype: "float32" } as Info;
      const info = convInfo(x, filter.shape, attrs as Record<string, unknown>);
      const unitStride = info.strideHeight === 1 && info.strideWidth === 1 &&
        info.dilationHeight === 1 &&
        info.dilationWidth === 1;
      if (!unitStride) {
        if (!stockInput) {
          throw new Error("Conv2DBackpropInput: strides other than 1 need the stock kernel");
        }
        return stockInput.kernelFunc(args);
      }
      // dx = conv(dy, W flipped 180° with C_in and K swapped), padded so that dx has the input's size
      const be = backend as unknown as WasmBackend;
      const [fh, fw, c, k] = filter.shape;
      const w = be.readSync(filter.dataId);
      const flipped = new Float32Array(w.length);
      for (let a = 0; a < fh; a++) {
        for (let q = 0; q < fw; q++) {
          for (let ch = 0; ch < c; ch++) {
            for (let f = 0; f < k; f++) {
              flipped[(((fh - 1 - a) * fw + (fw - 1 - q)) * k + f) * c + ch] =
                w[((a * fw + q) * c + ch) * k + f];
            }
          }
        }
      }
      const wId = be.write(flipped, [fh, fw, k, c], "float32");
      const { top, left, bottom, right } = info.padInfo;
      const pad = [[0, 0], [fh - 1 - top, fh - 1 - bottom], [fw - 1 - left, fw - 1 - right], [
        0,
        0,
      ]];
      const result = conv2d.kernelFunc({
        inputs: { x: dy, filter: { dataId: wId, shape: [fh, fw, k, c], dtype: "float32" } },
        backend,
        attrs: {
          strides: 1,
          pad: pad as unknown as number,
          dataFormat: "NHWC",
          dilations: 1,
        },
      }) as Info;
      be.disposeData(wId);
      return result;
    },
  });
  registered = true;
  return true;
}
