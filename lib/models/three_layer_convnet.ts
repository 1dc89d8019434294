/**
 * CS231n's three-layer ConvNet, built from the teaching layers:
 *
 *     conv (F x F, K filters, stride 1, pad (F - 1) / 2) - relu - 2x2 max pool - affine - relu - affine - softmax
 *
 * `threeLayerConvNetLoss` returns the class scores, or the loss (softmax plus L2 regularization
 * `0.5 * reg * (|W1|² + |W2|² + |W3|²)`) with the gradient of every parameter.
 *
 * @module
 */
import { affineBackward, affineForward } from "../layers/affine.ts";
import { conv2dBackward, conv2dForward } from "../layers/conv2d.ts";
import { maxPool2dBackward, maxPool2dForward } from "../layers/pool2d.ts";
import { reluBackward, reluForward } from "../layers/relu.ts";
import { softmaxLoss } from "../layers/softmax.ts";
import { randn, type Rng } from "../random.ts";
import { samePad } from "../shape.ts";
import { type Tensor, zeros } from "../tensor.ts";

/** The net's parameters. */
export interface ThreeLayerConvNetParams {
  /** Conv filters `[F, F, C, K]` and biases `[K]`. */
  W1: Tensor;
  b1: Tensor;
  /** Hidden affine `[K * H/2 * W/2, hidden]`, `[hidden]`. */
  W2: Tensor;
  b2: Tensor;
  /** Output affine `[hidden, classes]`, `[classes]`. */
  W3: Tensor;
  b3: Tensor;
}

/** Sizes of the net. */
export interface ThreeLayerConvNetOptions {
  /** Input `[H, W, C]` (default 32x32x3). */
  inputDim?: readonly [number, number, number];
  /** Number of conv filters K (default 32). */
  filters?: number;
  /** Filter size F, odd (default 7). */
  filterSize?: number;
  /** Hidden units (default 100). */
  hidden?: number;
  /** Classes (default 10). */
  classes?: number;
  /** Standard deviation of the initial weights (default 1e-3); biases start at 0. */
  weightScale?: number;
}

/**
 * Parameters drawn from a seeded generator, as CS231n initializes them.
 *
 * @example
 * ```ts
 * import { threeLayerConvNetInit } from "convkit/models/three_layer_convnet.ts";
 * import { Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const p = threeLayerConvNetInit({}, new Rng(0));
 * assert.deepEqual(p.W2.shape, [32 * 16 * 16, 100]);
 * ```
 */
export function threeLayerConvNetInit(
  opts: ThreeLayerConvNetOptions,
  rng: Rng,
): ThreeLayerConvNetParams {
  const [h, w, c] = opts.inputDim ?? [32, 32, 3];
  const k = opts.filters ?? 32,
    f = opts.filterSize ?? 7,
    hidden = opts.hidden ?? 100,
    classes = opts.classes ?? 10;
  const scale = opts.weightScale ?? 1e-3;
  samePad(f); // odd filter sizes only
  if (h % 2 || w % 2) {
    throw new RangeError(`threeLayerConvNetInit: the 2x2 pool needs even H and W, got ${h}x${w}`);
  }
  return {
    W1: randn([f, f, c, k], rng, scale),
    b1: zeros([k]),
    W2: randn([k * (h / 2) * (w / 2), hidden], rng, scale),
    b2: zeros([hidden]),
    W3: randn([hidden, classes], rng, scale),
    b3: zeros([classes]),
  };
}

/** Gradients of the loss, one per parameter. */
export type ThreeLayerConvNetGrads = ThreeLayerConvNetParams;

/**
 * Scores `[N, classes]` for images x `[N, H, W, C]`; with labels y, the loss and the gradients instead.
 *
 * @param reg L2 regularization strength (default 0)
 * @see ../../notebooks/15_assignment.ipynb
 */
export function threeLayerConvNetLoss(
  params: ThreeLayerConvNetParams,
  x: Tensor,
  y?: ArrayLike<number>,
  reg = 0,
): { scores: Tensor; loss?: number; grads?: ThreeLayerConvNetGrads } {
  const { W1, b1, W2, b2, W3, b3 } = params;
  const pad = samePad(W1.shape[0]);
  // BEGIN SOLUTION ex6 Forward conv - relu - pool - affine - relu - affine; then softmaxLoss plus 0.5 * reg * sum of squared weights, and every gradient by the layers' backward passes in reverse order (add reg * W to each dW).
  const conv = conv2dForward(x, W1, b1, { stride: 1, pad });
  const r1 = reluForward(conv.out);
  const pool = maxPool2dForward(r1.out, { size: 2, stride: 2 });
  const a2 = affineForward(pool.out, W2, b2);
  const r2 = reluForward(a2.out);
  const a3 = affineForward(r2.out, W3, b3);
  const scores = a3.out;
  if (y === undefined) return { scores };

  const { loss: dataLoss, dscores } = softmaxLoss(scores, y);
  let squares = 0;
  for (const W of [W1, W2, W3]) for (const v of W.data) squares += v * v;
  const loss = dataLoss + 0.5 * reg * squares;

  const g3 = affineBackward(dscores, a3.cache);
  const g2 = affineBackward(reluBackward(g3.dx, r2.cache).dx, a2.cache);
  const dPool = maxPool2dBackward(g2.dx, pool.cache).dx;
  const g1 = conv2dBackward(reluBackward(dPool, r1.cache).dx, conv.cache);
  const withReg = (dW: Tensor, W: Tensor) => ({
    data: dW.data.map((v, i) => v + reg * W.data[i]),
    shape: dW.shape,
  });
  return {
    scores,
    loss,
    grads: {
      W1: withReg(g1.dw, W1),
      b1: g1.db,
      W2: withReg(g2.dw, W2),
      b2: g2.db,
      W3: withReg(g3.dw, W3),
      b3: g3.db,
    },
  };
  // END SOLUTION
}
