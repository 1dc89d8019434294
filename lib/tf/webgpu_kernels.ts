/**
 * Training kernels for the tfjs webgpu backend, built so that a GPU trains fast (their speed on a GPU is
 * not measured yet: bench/README.md). Stock tfjs-webgpu 4.22 computes each element of a
 * conv filter gradient in one GPU thread, looping over all N·H'·W' output positions: on an H200 that one
 * kernel took 83 of a 103 ms training step of the ConvNetJS net (bench/RESULTS.md). Here the convolution
 * gradients are implicit matrix products (GEMM) in one WGSL template, tiled 64x64 in workgroup memory:
 *
 * - filter gradient `dW[F·F·C, K] = im2col(x)ᵀ [F·F·C, N·H'·W'] · dy[N·H'·W', K]`, with the long
 *   N·H'·W' axis split across workgroups (split-K) and the partial sums added by a second dispatch;
 * - input gradient `dx[N·H·W, C] = A[N·H·W, F·F·K] · Wᵀ[F·F·K, C]`, where A gathers
 *   `dy[n, (h + P - a·D) / S, (w + P - q·D) / S, k]` (zero where the division is not exact or falls
 *   outside dy): the transposed convolution, for every stride.
 *
 * Neither matrix is ever written out: each tile of A is gathered from x or dy as it is loaded (im2col on
 * the fly). Both kernels take every stride, padding (valid, same, explicit numbers) and dilation that
 * `computeConv2DInfo` accepts (tfjs's own conv gradient refuses dilations > 1 before a kernel is asked),
 * NHWC float32 only: NCHW, other dtypes, a `dimRoundingMode` that makes dy another size than the conv's
 * output, and products too large for WebGPU's grid fall back to the stock kernel (`unsupported`). An
 * empty batch gives zeros. Checked against the cpu backend and the kit's float64 layers in
 * tests/tf/webgpu_kernels_test.ts; timed in bench/gpu.ts.
 *
 * One difference from tfjs's kernels, on purpose: a padding tap (or, in the input gradient, a stride's
 * gap) enters the product as 0, so an Inf or NaN in the other operand makes NaN there too (0·Inf), where
 * tfjs's loops skip the tap and keep some entries finite. A GEMM over zero-padded im2col columns behaves
 * the same; by then the training has diverged, and `trainTfjs` stops on a non-finite loss.
 *
 * Source of the method: the im2col/GEMM formulation of convolution (Chellapilla et al. 2006; CS231n
 * Lecture 7 "Implementation: im2col") and split-K GEMM as in CUTLASS's `GemmSplitKParallel`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { relError } from "../compare.ts";
import { Rng } from "../random.ts";

type Info = tf.TensorInfo;
type ConvInfo = tf.backend_util.Conv2DInfo;

/** The parts of tfjs-webgpu's backend (4.22, `backend_webgpu.js`) that the kernels use. */
interface WebGPUBackend {
  runWebGPUProgram(
    program: GemmProgram | SumSplitsProgram,
    inputs: Info[],
    outputDtype: "float32",
    uniforms: { type: "int32"; data: number[] }[],
    output?: Info,
  ): Info;
  disposeData(dataId: object, force?: boolean): boolean;
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info;
}

/** Depth of one reduction step (a multiple of it is each split's length). */
const DEPTH = 16;
/** Workgroups the filter gradient aims for, splitting its reduction axis to get them. */
const TARGET_WORKGROUPS = 512;
/** The fewest reduction steps one split gets: with fewer, adding the partial sums costs more. */
const MIN_STEPS_PER_SPLIT = 16;

/**
 * The output tile of one workgroup, `rows x cols`, 4x4 outputs a thread: 64x64 for wide products, 128
 * rows by 32 or 16 columns for narrow ones (a conv with 16 or 20 filters would leave most of a 64-wide
 * tile idle). Workgroup memory: (rows + cols) · DEPTH · 4 bytes <= 10 KiB, under WebGPU's 16 KiB.
 */
export function gemmTile(cols: number): { rows: number; cols: number } {
  if (cols <= 16) return { rows: 128, cols: 16 };
  if (cols <= 32) return { rows: 128, cols: 32 };
  return { rows: 64, cols: 64 };
}

/** The uniforms shared by both gathers, in the order the WGSL struct declares them. */
const CONV_UNIFORMS = "rows : i32, cols : i32, depth : i32, chunk : i32, " +
  "inH : i32, inW : i32, inC : i32, outH : i32, outW : i32, outC : i32, " +
  "fh : i32, fw : i32, sh : i32, sw : i32, dh : i32, dw : i32, top : i32, left : i32,";

/**
 * WGSL for `result[s, r, c] = Σ_d A(r, d) · B(d, c)` over the `d` of split s, `rows x cols` outputs a
 * workgroup, 4x4 a thread. `loads` defines the operands' gathers, 0 outside them:
 *
 * - `rowA(r) -> RowA` and `colB(c) -> ColB`: what a row of A or a column of B needs that does not change
 *   along the reduction (a filter tap's offsets, an input pixel's position). Each thread loads one row of
 *   A and one column of B into the tiles at every step (the thread counts are multiples of the tile
 *   sides), so these are worked out once, not at every load: integer division is slow on GPUs (tens of
 *   instructions) and the gathers are most of the kernel's work for narrow products.
 * - `loadA(ra, d)` and `loadB(cb, d)`: one element at reduction position `d`.
 *
 * The step loop runs a uniform number of times (`chunk / DEPTH`), as WGSL's uniformity rules require of
 * a loop with barriers; positions past the split's end load zeros.
 */
function gemmShader(loads: string, tile: { rows: number; cols: number }): string {
  const { rows: TR, cols: TC } = tile;
  const threads = TR * TC / 16;
  if (threads % TR !== 0 || threads % TC !== 0) {
    throw new Error(
      `gemmShader: a ${TR}x${TC} tile's ${threads} threads do not cover whole rows and columns`,
    );
  }
  // 16 scalar accumulators, not an array: llvmpipe (the software adapter) took ~100 s to compile the
  // array version of this shader (dynamically indexed private arrays), 0.15 s this one
  const ij = [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => [i, j]));
  const decl = ij.map(([i, j]) => `var acc${i}${j} = 0.0;`).join(" ");
  const step =
    [0, 1, 2, 3].map((i) =>
      `let a${i} = tileA[dd][ty * 4 + ${i}]; let b${i} = tileB[dd][tx * 4 + ${i}];`
    ).join("\n        ") + "\n        " +
    ij.map(([i, j]) => `acc${i}${j} = fma(a${i}, b${j}, acc${i}${j});`).join(" ");
  const store = ij.map(([i, j]) =>
    `if ((r0 + ${i} < uniforms.rows) & (c0 + ${j} < uniforms.cols)) {
      result[base + (r0 + ${i}) * uniforms.cols + c0 + ${j}] = acc${i}${j};
    }`
  ).join("\n    ");
  return `
  var<workgroup> tileA : array<array<f32, ${TR}>, ${DEPTH}>;
  var<workgroup> tileB : array<array<f32, ${TC}>, ${DEPTH}>;
  ${loads}
  fn main() {
    let row0 = i32(workgroupId.x) * ${TR};
    let col0 = i32(workgroupId.y) * ${TC};
    let d0 = i32(workgroupId.z) * uniforms.chunk;
    let d1 = min(uniforms.depth, d0 + uniforms.chunk);
    let tx = i32(localId.x);
    let ty = i32(localId.y);
    let li = i32(localIndex);
    // this thread fills tileA[ad][ar] for ad = ad0, ad0 + ${
    threads / TR
  }, ... and tileB[bd][bc] likewise
    let ar = li % ${TR};
    let ad0 = li / ${TR};
    let ra = rowA(row0 + ar);
    let bc = li % ${TC};
    let bd0 = li / ${TC};
    let cb = colB(col0 + bc);
    ${decl}
    for (var s = 0; s < uniforms.chunk; s = s + ${DEPTH}) {
      for (var dd = ad0; dd < ${DEPTH}; dd = dd + ${threads / TR}) {
        let k = d0 + s + dd;
        tileA[dd][ar] = select(0.0, loadA(ra, k), k < d1);
      }
      for (var dd = bd0; dd < ${DEPTH}; dd = dd + ${threads / TC}) {
        let k = d0 + s + dd;
        tileB[dd][bc] = select(0.0, loadB(cb, k), k < d1);
      }
      workgroupBarrier();
      for (var dd = 0; dd < ${DEPTH}; dd = dd + 1) {
        ${step}
      }
      workgroupBarrier();
    }
    let base = i32(workgroupId.z) * uniforms.rows * uniforms.cols;
    let r0 = row0 + ty * 4;
    let c0 = col0 + tx * 4;
    ${store}
  }`;
}

/**
 * `select(0, v, cond)` in WGSL evaluates both sides, so the loads clamp their index into the buffer and
 * return 0 themselves where the position lies in the padding. Their conditions use `&`, not `&&`: the
 * short-circuit `&&` becomes branches, with which llvmpipe (the software adapter CI runs on) took ~150 s
 * to compile the GEMM shader instead of 0.05 s.
 */
const FILTER_GRAD_LOADS = `
  // A(m, p) = x[n, i·S + a·D - P, j·S + q·D - P, c] with m = (a·FW + q)·C + c, p = (n·H' + i)·W' + j
  struct RowA { yoff : i32, zoff : i32, c : i32, ok : bool }
  fn rowA(m : i32) -> RowA {
    let u = uniforms;
    let a = m / (u.fw * u.inC);
    let qc = m - a * u.fw * u.inC;
    let q = qc / u.inC;
    return RowA(a * u.dh - u.top, q * u.dw - u.left, qc - q * u.inC, m < u.rows);
  }
  fn loadA(ra : RowA, p : i32) -> f32 {
    let u = uniforms;
    let pix = u.outH * u.outW;
    let n = p / pix;
    let ij = p - n * pix;
    let i = ij / u.outW;
    let y = i * u.sh + ra.yoff;
    let z = (ij - i * u.outW) * u.sw + ra.zoff;
    let ok = ra.ok & (y >= 0) & (y < u.inH) & (z >= 0) & (z < u.inW) & (p < u.depth);
    let at = select(0, ((n * u.inH + y) * u.inW + z) * u.inC + ra.c, ok);
    return select(0.0, x[at], ok);
  }
  // B(p, k) = dy[p, k]
  struct ColB { k : i32, ok : bool }
  fn colB(k : i32) -> ColB {
    return ColB(k, k < uniforms.cols);
  }
  fn loadB(cb : ColB, p : i32) -> f32 {
    let ok = cb.ok & (p < uniforms.depth);
    return select(0.0, dy[select(0, p * uniforms.cols + cb.k, ok)], ok);
  }`;

const INPUT_GRAD_LOADS = `
  // A(r, t) = dy[n, (h + P - a·D) / S, (w + P - q·D) / S, k] with r = (n·H + h)·W + w, t = (a·FW + q)·K + k,
  // where both divisions are exact and land inside dy; else 0
  struct RowA { nh : i32, hp : i32, wp : i32, ok : bool }
  fn rowA(r : i32) -> RowA {
    let u = uniforms;
    let pix = u.inH * u.inW;
    let n = r / pix;
    let hw = r - n * pix;
    let h = hw / u.inW;
    return RowA(n * u.outH, h + u.top, hw - h * u.inW + u.left, r < u.rows);
  }
  fn loadA(ra : RowA, t : i32) -> f32 {
    let u = uniforms;
    let a = t / (u.fw * u.outC);
    let qk = t - a * u.fw * u.outC;
    let q = qk / u.outC;
    let k = qk - q * u.outC;
    let yy = ra.hp - a * u.dh;
    let zz = ra.wp - q * u.dw;
    let i = yy / u.sh;
    let j = zz / u.sw;
    let ok = ra.ok & (yy >= 0) & (zz >= 0) & (i * u.sh == yy) & (j * u.sw == zz) & (i < u.outH) &
      (j < u.outW) & (t < u.depth);
    let at = select(0, ((ra.nh + i) * u.outW + j) * u.outC + k, ok);
    return select(0.0, dy[at], ok);
  }
  // B(t, c) = W[a, q, c, k] with t = (a·FW + q)·K + k
  struct ColB { c : i32, ok : bool }
  fn colB(c : i32) -> ColB {
    return ColB(c, c < uniforms.cols);
  }
  fn loadB(cb : ColB, t : i32) -> f32 {
    let u = uniforms;
    let aq = t / u.outC;
    let ok = cb.ok & (t < u.depth);
    return select(0.0, W[select(0, (aq * u.inC + cb.c) * u.outC + t - aq * u.outC, ok)], ok);
  }`;

/** A `WebGPUProgram` (tfjs-webgpu's interface) running the tiled GEMM with one pair of gathers. */
class GemmProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1], z: [2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  variableNames: string[];
  uniforms = CONV_UNIFORMS;
  private loads: string;
  private tile: { rows: number; cols: number };

  constructor(
    kind: "filter" | "input",
    rows: number,
    cols: number,
    splits: number,
    outputShape: number[],
  ) {
    this.outputShape = outputShape;
    this.variableNames = kind === "filter" ? ["x", "dy"] : ["dy", "W"];
    this.loads = kind === "filter" ? FILTER_GRAD_LOADS : INPUT_GRAD_LOADS;
    this.tile = gemmTile(cols);
    this.workgroupSize = [this.tile.cols / 4, this.tile.rows / 4, 1];
    this.dispatch = [Math.ceil(rows / this.tile.rows), Math.ceil(cols / this.tile.cols), splits];
    this.shaderKey = `convkitGemm_${kind}_${this.tile.rows}x${this.tile.cols}`;
  }

  getUserCode(): string {
    return gemmShader(this.loads, this.tile);
  }
}

/** Sums `partial[s, i]` over s into `result[i]`: the second half of a split-K product. */
class SumSplitsProgram {
  outputShape: number[];
  shaderKey = "convkitSumSplits";
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  variableNames = ["partial"];
  uniforms = "splits : i32, count : i32,";

  constructor(outputShape: number[], count: number) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(count / 64), 1, 1];
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.count) {
      var s = 0.0;
      for (var k = 0; k < uniforms.splits; k = k + 1) {
        s = s + partial[k * uniforms.count + index];
      }
      result[index] = s;
    }
  }`;
  }
}

/** The uniforms of `CONV_UNIFORMS`, from a conv's geometry and the product's sizes. */
function convUniforms(
  info: ConvInfo,
  rows: number,
  cols: number,
  depth: number,
  chunk: number,
): { type: "int32"; data: number[] }[] {
  return [
    rows,
    cols,
    depth,
    chunk,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ].map((v) => ({ type: "int32" as const, data: [v] }));
}

/**
 * The product a kernel computes, `rows x cols` outputs summed over `depth`: the filter gradient's
 * `[F·F·C, K]` over N·H'·W' output positions, the input gradient's `[N·H·W, C]` over F·F·K taps.
 */
function gemmSizes(
  kind: "filter" | "input",
  info: ConvInfo,
): { rows: number; cols: number; depth: number } {
  return kind === "filter"
    ? {
      rows: info.filterHeight * info.filterWidth * info.inChannels,
      cols: info.outChannels,
      depth: info.batchSize * info.outHeight * info.outWidth,
    }
    : {
      rows: info.batchSize * info.inHeight * info.inWidth,
      cols: info.inChannels,
      depth: info.filterHeight * info.filterWidth * info.outChannels,
    };
}

/**
 * How many workgroups share the reduction axis (`depth` long) of a `rows x cols` product: enough to
 * give the GPU about `TARGET_WORKGROUPS` workgroups, none with fewer than `MIN_STEPS_PER_SPLIT` steps.
 * Returns the number of splits and the length of each (a multiple of the tile depth).
 */
export function splitK(
  rows: number,
  cols: number,
  depth: number,
): { splits: number; chunk: number } {
  const tile = gemmTile(cols);
  const tiles = Math.ceil(rows / tile.rows) * Math.ceil(cols / tile.cols);
  const steps = Math.ceil(depth / DEPTH);
  const wanted = Math.ceil(TARGET_WORKGROUPS / tiles);
  const most = Math.max(1, Math.floor(steps / MIN_STEPS_PER_SPLIT));
  const stepsPer = Math.ceil(steps / Math.max(1, Math.min(wanted, most, 65535)));
  const chunk = stepsPer * DEPTH;
  return { splits: Math.ceil(depth / chunk), chunk };
}

/**
 * The filter gradient `dW[FH, FW, C, K]` of an NHWC conv on the webgpu backend: a split-K GEMM over the
 * N·H'·W' output positions (one dispatch, plus one to add the splits when there is more than one).
 */
export function conv2dFilterGradWebgpu(x: Info, dy: Info, info: ConvInfo, backend: unknown): Info {
  const be = backend as WebGPUBackend;
  const { rows, cols, depth } = gemmSizes("filter", info);
  // an empty batch (or output) sums nothing: zeros, which the GEMM's grid cannot be sized for
  if (depth === 0) {
    return be.makeTensorInfo(info.filterShape, "float32", new Float32Array(rows * cols));
  }
  const { splits, chunk } = splitK(rows, cols, depth);
  const uniforms = convUniforms(info, rows, cols, depth, chunk);
  if (splits === 1) {
    return be.runWebGPUProgram(
      new GemmProgram("filter", rows, cols, 1, info.filterShape),
      [x, dy],
      "float32",
      uniforms,
    );
  }
  const partial = be.runWebGPUProgram(
    new GemmProgram("filter", rows, cols, splits, [splits, rows, cols]),
    [x, dy],
    "float32",
    uniforms,
  );
  const count = rows * cols;
  const dw = be.runWebGPUProgram(
    new SumSplitsProgram(info.filterShape, count),
    [partial],
    "float32",
    [{ type: "int32", data: [splits] }, { type: "int32", data: [count] }],
  );
  be.disposeData(partial.dataId);
  return dw;
}

/**
 * The input gradient `dx[N, H, W, C]` of an NHWC conv on the webgpu backend: one GEMM of the gathered
 * (transposed-convolution) view of dy by the filters.
 */
export function conv2dInputGradWebgpu(
  dy: Info,
  filter: Info,
  info: ConvInfo,
  backend: unknown,
): Info {
  const be = backend as WebGPUBackend;
  const { rows, cols, depth } = gemmSizes("input", info);
  if (depth === 0 || rows * cols === 0) {
    return be.makeTensorInfo(info.inShape, "float32", new Float32Array(rows * cols));
  }
  const uniforms = convUniforms(info, rows, cols, depth, Math.ceil(depth / DEPTH) * DEPTH);
  return be.runWebGPUProgram(
    new GemmProgram("input", rows, cols, 1, info.inShape),
    [dy, filter],
    "float32",
    uniforms,
  );
}

/** Conv geometry from a backprop kernel's attributes (dilations default to 1, as tfjs's grads pass none). */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as number,
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((attrs.dataFormat ?? "NHWC") as "NHWC"),
  );
}

/**
 * Why the kit's kernel (`kind`) does not take this case (the stock kernel runs it instead), or
 * undefined. `dtypes` are its two inputs' (x and dy, or dy and the filter).
 */
function unsupported(
  kind: "filter" | "input",
  info: ConvInfo,
  dyShape: number[],
  dtypes: string[],
): string | undefined {
  // the shaders read float32; tfjs's own kernels convert other dtypes
  if (dtypes.some((d) => d !== "float32")) return "a dtype other than float32";
  if (info.dataFormat !== "channelsLast") return "NCHW data";
  // tfjs does not pass a conv's rounding mode ("ceil", "round") to its gradients: dy then has another
  // size than the one worked out here
  if (dyShape[1] !== info.outHeight || dyShape[2] !== info.outWidth) {
    return "a dimRoundingMode other than floor";
  }
  const { rows, cols, depth } = gemmSizes(kind, info);
  // i32 indices: the largest buffer index must fit (the split-K partial sums included)
  const splits = kind === "filter" && depth > 0 ? splitK(rows, cols, depth).splits : 1;
  const big = Math.max(
    info.batchSize * info.inHeight * info.inWidth * info.inChannels,
    info.batchSize * info.outHeight * info.outWidth * info.outChannels,
    splits * rows * cols,
  );
  if (big >= 2 ** 31) return "a tensor of 2^31 elements or more";
  // one workgroup per output tile: WebGPU allows at most 65535 along each axis of the grid
  const tile = gemmTile(cols);
  if (Math.ceil(rows / tile.rows) > 65535 || Math.ceil(cols / tile.cols) > 65535) {
    return "more than 65535 tiles along a side of the product";
  }
  return undefined;
}

/** What `registerWebgpuKernels` did, and the cases it sent to the stock kernels since. */
export interface WebgpuKernelsInfo {
  registered: boolean;
  kernels: string[];
  /** Counts of calls that fell back to the stock kernel, by reason. */
  fallbacks: Record<string, number>;
  /** Why `checkWebgpuKernels` put the kit's kernels aside on this device (they stay aside), if it did. */
  putAside?: string;
}

const state: WebgpuKernelsInfo = { registered: false, kernels: [], fallbacks: {} };
/** tfjs-webgpu's own kernels, kept to put back when the kit's fail `checkWebgpuKernels`. */
const stockKernels: tf.KernelConfig[] = [];

/** Which webgpu kernels are the kit's (after `registerWebgpuKernels`), and how often the stock ones ran. */
export function webgpuKernelsInfo(): WebgpuKernelsInfo {
  return { ...state, kernels: [...state.kernels], fallbacks: { ...state.fallbacks } };
}

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * Registers the kit's `Conv2DBackpropFilter` and `Conv2DBackpropInput` for the webgpu backend, in place
 * of tfjs-webgpu's (once; later calls do nothing). Cases they do not cover (see `unsupported`) run the
 * stock kernel, counted in `webgpuKernelsInfo().fallbacks`. Returns whether it registered them.
 *
 * @throws {Error} when tfjs-webgpu is not loaded (its kernels are not registered)
 * @example
 * ```ts
 * import { registerWebgpuKernels, webgpuKernelsInfo } from "convkit/tf/webgpu_kernels.ts";
 * import "convkit/tf/backend.ts";
 * import assert from "node:assert/strict";
 * registerWebgpuKernels();
 * assert.deepEqual(webgpuKernelsInfo().kernels, ["Conv2DBackpropFilter", "Conv2DBackpropInput"]);
 * ```
 * @see ../../notebooks/00_setup.ipynb
 */
export function registerWebgpuKernels(): boolean {
  if (state.registered) return false;
  const stockFilter = tf.getKernel("Conv2DBackpropFilter", "webgpu");
  const stockInput = tf.getKernel("Conv2DBackpropInput", "webgpu");
  if (!stockFilter || !stockInput) {
    throw new Error("registerWebgpuKernels: tfjs-backend-webgpu's conv kernels are not registered");
  }
  stockKernels.push(stockFilter, stockInput);
  const fellBack = (why: string) => {
    state.fallbacks[why] = (state.fallbacks[why] ?? 0) + 1;
  };
  replaceKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "webgpu",
    kernelFunc: (args) => {
      const { x, dy } = args.inputs as { x: Info; dy: Info };
      const attrs = args.attrs as Record<string, unknown>;
      const info = convInfo(x.shape, attrs.filterShape as number[], attrs);
      const why = unsupported("filter", info, dy.shape, [x.dtype, dy.dtype]);
      if (why) {
        fellBack(`Conv2DBackpropFilter: ${why}`);
        return stockFilter.kernelFunc(args);
      }
      return conv2dFilterGradWebgpu(x, dy, info, args.backend);
    },
  });
  replaceKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "webgpu",
    kernelFunc: (args) => {
      const { dy, filter } = args.inputs as { dy: Info; filter: Info };
      const attrs = args.attrs as Record<string, unknown>;
      const info = convInfo(attrs.inputShape as number[], filter.shape, attrs);
      const why = unsupported("input", info, dy.shape, [dy.dtype, filter.dtype]);
      if (why) {
        fellBack(`Conv2DBackpropInput: ${why}`);
        return stockInput.kernelFunc(args);
      }
      return conv2dInputGradWebgpu(dy, filter, info, args.backend);
    },
  });
  state.registered = true;
  state.kernels = ["Conv2DBackpropFilter", "Conv2DBackpropInput"];
  return true;
}

/** The cpu backend's parts that `checkWebgpuKernels` uses to compute its reference with tfjs-cpu's kernels. */
interface CpuBackend {
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info;
  readSync(dataId: object): Float32Array;
  disposeData(dataId: object): boolean;
}

/**
 * Checks the kit's webgpu kernels on this device at start-up, before a notebook trains with them: the
 * filter and input gradients of two small convs (stride 2 with padding; stride 1 with a reduction long
 * enough to be split) against tfjs-cpu's kernels (relative error < 1e-4; not the kit's teaching layers,
 * which are exercises in the student edition), with WebGPU validation errors caught (a shader a driver
 * refuses gives old buffer contents, not an exception). When they fail, tfjs-webgpu's own kernels are put
 * back. Call it with the webgpu backend active, after `registerWebgpuKernels`. Returns undefined when the
 * kit's kernels passed (or are not registered), else why they were put aside.
 *
 * @see ./backend.ts (`useBackend("auto")` calls it)
 */
export async function checkWebgpuKernels(): Promise<string | undefined> {
  if (state.putAside) return state.putAside; // once put aside, for the rest of the process
  if (!state.kernels.length || tf.getBackend() !== "webgpu") return undefined;
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  const cpu = tf.findBackend("cpu") as unknown as CpuBackend | null;
  if (!cpu) return undefined; // tfjs-backend-cpu is always registered with the kit's backends
  let why: string | undefined;
  device?.pushErrorScope("validation");
  try {
    const rng = new Rng(15);
    const cases = [[[2, 9, 9, 3], [3, 3, 3, 2], 2, 1], [
      [4, 16, 16, 3],
      [3, 3, 3, 4],
      1,
      1,
    ]] as const;
    for (const [xs, ws, stride, pad] of cases) {
      const info = tf.backend_util.computeConv2DInfo([...xs], [...ws], stride, 1, pad);
      const ys = [xs[0], info.outHeight, info.outWidth, ws[3]];
      const values = [xs, ws, ys].map((s) =>
        Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal())
      );
      const attrs = { strides: stride, pad, dataFormat: "NHWC", dimRoundingMode: undefined };
      const filterAttrs = { ...attrs, filterShape: [...ws] },
        inputAttrs = { ...attrs, inputShape: [...xs] };
      // tfjs-cpu's kernels, called on the cpu backend directly (the webgpu backend stays active)
      const onCpu = (kernel: string, inputs: Record<string, number>, a: object) => {
        const infos = Object.fromEntries(
          Object.entries(inputs).map((
            [k, i],
          ) => [k, cpu.makeTensorInfo([...[xs, ws, ys][i]], "float32", values[i])]),
        );
        const out = tf.getKernel(kernel, "cpu")!.kernelFunc({
          inputs: infos,
          backend: cpu as never,
          attrs: a as never,
        }) as Info;
        const data = cpu.readSync(out.dataId);
        for (const t of [...Object.values(infos), out]) cpu.disposeData(t.dataId);
        return { data, shape: out.shape };
      };
      const onGpu = async (kernel: string, inputs: Record<string, number>, a: object) => {
        const ts = Object.fromEntries(
          Object.entries(inputs).map(([k, i]) => [k, tf.tensor(values[i], [...[xs, ws, ys][i]])]),
        );
        try {
          const out = tf.engine().runKernel(kernel, ts, a as never) as tf.Tensor;
          const data = await out.data();
          out.dispose();
          return { data, shape: out.shape };
        } finally {
          tf.dispose(Object.values(ts));
        }
      };
      const errors = [
        relError(
          await onGpu("Conv2DBackpropInput", { dy: 2, filter: 1 }, inputAttrs),
          onCpu("Conv2DBackpropInput", { dy: 2, filter: 1 }, inputAttrs),
        ),
        relError(
          await onGpu("Conv2DBackpropFilter", { x: 0, dy: 2 }, filterAttrs),
          onCpu("Conv2DBackpropFilter", { x: 0, dy: 2 }, filterAttrs),
        ),
      ];
      if (!errors.every((e) => e < 1e-4)) {
        why = `x=[${xs}] w=[${ws}] stride ${stride} pad ${pad}: relative error dx ${
          errors[0].toExponential(1)
        }, dw ${errors[1].toExponential(1)}`;
        break;
      }
    }
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  }
  const error = await device?.popErrorScope();
  // wgpu's messages start with a line break: the first line with words says what failed
  if (error) {
    why = `WebGPU: ${
      error.message.split("\n").map((l) => l.trim()).find(Boolean) ?? "validation error"
    }`;
  }
  if (why) {
    stockKernels.forEach(replaceKernel);
    state.kernels = [];
    state.putAside = why;
  }
  return why;
}

/**
 * Counts the WebGPU dispatches tfjs-webgpu makes while `f` runs (each `runWebGPUProgram` call is one;
 * ops tfjs runs on the CPU or that only reshape make none). Returns 0 on other backends.
 *
 * @see ../../bench/gpu.ts (dispatches a training step)
 */
export async function countDispatches(f: () => unknown): Promise<number> {
  const be = tf.backend() as unknown as { runWebGPUProgram?: (...a: unknown[]) => unknown };
  const original = be.runWebGPUProgram;
  if (!original) {
    await f();
    return 0;
  }
  let n = 0;
  be.runWebGPUProgram = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  try {
    await f();
  } finally {
    be.runWebGPUProgram = original;
  }
  return n;
}
