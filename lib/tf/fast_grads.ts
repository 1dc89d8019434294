/**
 * Fast training kernels for the tfjs wasm backend. tfjs-wasm 4.22 lacks `Conv2DBackpropFilter`, so stock
 * tfjs-wasm cannot train a ConvNet, and runs `Conv2DBackpropInput` and `MaxPoolGrad` as slow loops.
 * `registerFastGrads()` registers the kit's versions of all three:
 *
 * - filter gradient: one forward convolution by XNNPACK (the wasm backend's SIMD engine) of x with its
 *   batch and channel axes swapped, by dy as the filter, dilated by the stride (`filterGradByConv`);
 * - input gradient at stride 1: a forward convolution of `dy` with the filters flipped 180° and their
 *   input/output channels swapped, padded by `F - 1 - P`; other strides keep the stock kernel;
 * - max-pool gradient: one pass in JavaScript over the windows, all channels of a pixel at once.
 *
 * The same call registers the kit's webgpu conv gradients (`registerWebgpuKernels`, lib/tf/webgpu_kernels.ts).
 *
 * The gradients are checked against the kit's float64 teaching layers in tests/tf/fast_grads_test.ts.
 *
 * @module
 */
import { tf } from "./backend.ts";
import { convInfo, registerWebgpuKernels } from "./webgpu_kernels.ts";

type Info = tf.TensorInfo;
interface WasmBackend {
  readSync(dataId: object): Float32Array;
  write(values: Float32Array, shape: number[], dtype: string): object;
  disposeData(dataId: object, force?: boolean): boolean;
  /** A new tensor in the wasm heap (uninitialized). */
  makeOutput(shape: number[], dtype: string): Info;
  /** A view of a tensor's bytes in the wasm heap, valid until the heap grows. */
  typedArrayFromHeap(info: Info): Float32Array;
}

/**
 * The max-pool gradient: each window's upstream gradient goes to its largest input (the first one on a
 * tie, as tfjs's own kernels do), summed where windows overlap. One pass over the windows with all
 * channels of a pixel at once (NHWC keeps them adjacent); tfjs-wasm's stock MaxPoolGrad took ~4x longer.
 */
export function maxPoolGrad(
  dy: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } =
    info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  // the 2x2 special case covers windows that all lie inside the input: no padding on any side, which
  // "same" padding of an odd size breaks at the bottom or right; everything else takes the general loop
  if (
    fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oh <= h &&
    2 * ow <= w
  ) {
    maxPoolGrad2x2(dy, x, dx, n, h, w, c, oh, ow);
    return;
  }
  dx.fill(0);
  const best = new Float32Array(c), at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const h0 = Math.max(0, i * sh - top), h1 = Math.min(h, i * sh - top + fh);
      for (let j = 0; j < ow; j++) {
        const w0 = Math.max(0, j * sw - left), w1 = Math.min(w, j * sw - left + fw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let y = h0; y < h1; y++) {
          for (let z = w0; z < w1; z++) {
            const base = ((b * h + y) * w + z) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch];
              if (v > best[ch] || at[ch] < 0 || (v !== v && best[ch] === best[ch])) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        }
        const g = ((b * oh + i) * ow + j) * c;
        for (let ch = 0; ch < c; ch++) if (at[ch] >= 0) dx[at[ch]] += dy[g + ch];
      }
    }
  }
}

/**
 * The common case, 2x2 windows at stride 2 that all lie inside the input (`2 * oh <= h`, `2 * ow <= w`):
 * every input pixel is in at most one window.
 */
function maxPoolGrad2x2(
  dy: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): void {
  // rows and columns past the last window (odd sizes) get no gradient
  if (h !== 2 * oh || w !== 2 * ow) dx.fill(0);
  const row = w * c;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const p0 = ((b * h + 2 * i) * w + 2 * j) * c, p1 = p0 + c, p2 = p0 + row, p3 = p2 + c;
        const g = ((b * oh + i) * ow + j) * c;
        for (let ch = 0; ch < c; ch++) {
          const v0 = x[p0 + ch], v1 = x[p1 + ch], v2 = x[p2 + ch], v3 = x[p3 + ch];
          // the first maximum in window order, as tfjs's kernels pick it
          // a NaN wins, as in the general loop and in PyTorch
          let m = v0, k = 0;
          if (v1 > m || (v1 !== v1 && m === m)) {
            m = v1;
            k = 1;
          }
          if (v2 > m || (v2 !== v2 && m === m)) {
            m = v2;
            k = 2;
          }
          if (v3 > m || (v3 !== v3 && m === m)) k = 3;
          const d = dy[g + ch];
          dx[p0 + ch] = k === 0 ? d : 0;
          dx[p1 + ch] = k === 1 ? d : 0;
          dx[p2 + ch] = k === 2 ? d : 0;
          dx[p3 + ch] = k === 3 ? d : 0;
        }
      }
    }
  }
}

/** Runs another wasm kernel from inside a kernel, on the same backend. */
function runKernel(
  kernel: tf.KernelConfig,
  backend: unknown,
  inputs: Record<string, Info>,
  attrs: object,
): Info {
  return kernel.kernelFunc({
    inputs,
    backend: backend as tf.KernelBackend,
    attrs: attrs as tf.NamedAttrMap,
  }) as Info;
}

/** Registers `config`, replacing the backend's own kernel of that name if it has one. */
function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * The filter gradient as one forward convolution: `dW[a, q, c, k] = Σ_{n,i,j} x[n, i·S+a-P, j·S+q-P, c] ·
 * dy[n, i, j, k]` is a convolution of x with the batch and channel axes swapped (`[C, H, W, N]`: the
 * channels become images and the images channels) by dy as the filter (`[H', W', N, K]`) dilated by the
 * stride S, padded by the layer's own top and left padding, whose first `F x F` outputs are dW with C
 * first. Two cheap transposes around XNNPACK's convolution replace an im2col matrix written in JS: 3x
 * faster on the ConvNetJS net's layers. Where the stride drops the last rows or columns (rounding down),
 * the convolution gives a few more outputs than F, which are cut off.
 */
function filterGradByConv(
  x: Info,
  dy: Info,
  info: tf.backend_util.Conv2DInfo,
  backend: unknown,
  kernels: { transpose: tf.KernelConfig; conv2d: tf.KernelConfig; slice: tf.KernelConfig },
): Info {
  const { transpose, conv2d, slice } = kernels;
  const be = backend as WasmBackend;
  const xT = runKernel(transpose, backend, { x }, { perm: [3, 1, 2, 0] }); // [C, H, W, N]
  const dyT = runKernel(transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [H', W', N, K]
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, inChannels: c } = info;
  const { top, left } = info.padInfo;
  // enough padding at the bottom and right for F outputs: (H + top + bottom) - ((H' - 1)·S + 1) + 1 >= F
  const bottom = Math.max(0, fh + (oh - 1) * sh - h - top);
  const right = Math.max(0, fw + (ow - 1) * sw - w - left);
  const out = runKernel(conv2d, backend, { x: xT, filter: dyT }, {
    strides: 1,
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: "NHWC",
    dilations: [sh, sw],
  }); // [C, >= F, >= F, K]
  be.disposeData(xT.dataId);
  be.disposeData(dyT.dataId);
  let cut = out;
  if (out.shape[1] !== fh || out.shape[2] !== fw) {
    cut = runKernel(slice, backend, { x: out }, {
      begin: [0, 0, 0, 0],
      size: [c, fh, fw, out.shape[3]],
    });
    be.disposeData(out.dataId);
  }
  const dw = runKernel(transpose, backend, { x: cut }, { perm: [1, 2, 0, 3] }); // [F, F, C, K]
  be.disposeData(cut.dataId);
  return dw;
}

let registered = false;

/**
 * Registers the fast gradients for the wasm backend, and the webgpu ones of `registerWebgpuKernels` (once;
 * later calls do nothing). Returns whether the stock kernels were replaced.
 */
export function registerFastGrads(): boolean {
  if (registered) return false;
  registerWebgpuKernels();
  const stockInput = tf.getKernel("Conv2DBackpropInput", "wasm");
  const conv2d = tf.getKernel("Conv2D", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  const slice = tf.getKernel("Slice", "wasm");
  if (!conv2d || !transpose || !slice) {
    throw new Error(
      "registerFastGrads: the wasm backend's Conv2D/Transpose/Slice kernels are missing",
    );
  }

  replaceKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: Info; dy: Info };
      const filterShape = (attrs as { filterShape: number[] }).filterShape;
      const info = convInfo(x.shape, filterShape, attrs as Record<string, unknown>);
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
        throw new Error("Conv2DBackpropFilter: dilations are not supported");
      }
      // tfjs does not pass a conv's rounding mode ("ceil", "round") to its gradient: dy then has another
      // size than the one worked out here, and the result would be read past its end
      if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth) {
        throw new Error(
          `Conv2DBackpropFilter: dy is ${dy.shape[1]}x${dy.shape[2]}, but the conv gives ` +
            `${info.outHeight}x${info.outWidth}: a dimRoundingMode other than floor is not supported`,
        );
      }
      return filterGradByConv(x, dy, info, backend, { transpose, conv2d, slice });
    },
  });

  replaceKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    // the stock kernel binds its wasm function when the backend starts: keep that for the strided case
    ...(stockInput?.setupFunc ? { setupFunc: stockInput.setupFunc } : {}),
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { dy, filter } = inputs as { dy: Info; filter: Info };
      const inputShape = (attrs as { inputShape: number[] }).inputShape;
      const x = { dataId: dy.dataId, shape: inputShape, dtype: "float32" } as Info;
      const info = convInfo(x.shape, filter.shape, attrs as Record<string, unknown>);
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
      const result = runKernel(conv2d, backend, {
        x: dy,
        filter: { dataId: wId, shape: [fh, fw, k, c], dtype: "float32" },
      }, { strides: 1, pad, dataFormat: "NHWC", dilations: 1 });
      be.disposeData(wId);
      return result;
    },
  });
  replaceKernel({
    kernelName: "MaxPoolGrad",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: Info; input: Info };
      const a = attrs as unknown as {
        filterSize: [number, number] | number;
        strides: [number, number] | number;
        pad: "same" | "valid" | number;
        dimRoundingMode?: "floor" | "round" | "ceil";
      };
      const info = tf.backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        a.filterSize,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      const be = backend as unknown as WasmBackend;
      const dx = be.makeOutput(input.shape, "float32");
      // views taken after the allocation, which may grow (and so move) the heap
      maxPoolGrad(
        be.typedArrayFromHeap(dy),
        be.typedArrayFromHeap(input),
        be.typedArrayFromHeap(dx),
        info,
      );
      return dx;
    },
  });
  registered = true;
  return true;
}
