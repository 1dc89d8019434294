/**
 * ResNet's basic residual block, composed from the teaching layers:
 *
 *     out = relu( bn2(conv2( relu(bn1(conv1(x))) )) + shortcut(x) )
 *
 * conv1 is 3x3 with stride S and pad 1, conv2 3x3 with stride 1 and pad 1; the shortcut is x itself when
 * the shape is kept, else a 1x1 conv at stride S followed by batch norm (the "projection" shortcut).
 * Output sizes round down, as in ResNet: 3x3 at stride 2 with pad 1 takes 56 to 28.
 * As in ResNet, the convs have no bias (batch norm right after them would cancel it).
 *
 * Backward, the addition passes its upstream gradient unchanged to both branches, and the two
 * gradients that reach x are summed.
 *
 * @module
 */
import { he } from "../init.ts";
import type { Rng } from "../random.ts";
import { add, full, type Tensor, zeros } from "../tensor.ts";
import {
  type BatchNormCache,
  type BatchNormState,
  batchNormState,
  spatialBatchnormBackward,
  spatialBatchnormForward,
} from "./batchnorm.ts";
import { checkCache, checkTensor } from "./checks.ts";
import { type Conv2dCache } from "./conv2d.ts";
import { conv2dBackwardIm2col, conv2dForwardIm2col } from "./conv2d_im2col.ts";
import { reluBackward, type ReluCache, reluForward } from "./relu.ts";

/** A conv without bias followed by batch norm: the unit the block is made of. */
export interface ConvBnParams {
  /** Filters `[F, F, C_in, C_out]`. */
  w: Tensor;
  /** Batch-norm scale `[C_out]`. */
  gamma: Tensor;
  /** Batch-norm shift `[C_out]`. */
  beta: Tensor;
  /** Batch-norm running averages. */
  bn: BatchNormState;
}

/** Parameters of a basic block. */
export interface ResidualBlockParams {
  conv1: ConvBnParams;
  conv2: ConvBnParams;
  /** Present when the block changes depth or resolution. */
  shortcut?: ConvBnParams;
}

/** Gradients of a block's parameters, by the same names. */
export interface ResidualBlockGrads {
  conv1: { w: Tensor; gamma: Tensor; beta: Tensor };
  conv2: { w: Tensor; gamma: Tensor; beta: Tensor };
  shortcut?: { w: Tensor; gamma: Tensor; beta: Tensor };
}

/** Options of the block's forward pass. */
export interface ResidualBlockOptions {
  /** Stride of conv1 and of the projection shortcut. */
  stride: number;
  /** Batch-norm mode. */
  mode: "train" | "test";
}

interface ConvBnCache {
  conv: Conv2dCache;
  bn: BatchNormCache;
}

/** What the block's forward pass keeps. */
export interface ResidualBlockCache {
  readonly layer: "residualBlock";
  readonly unit1: ConvBnCache;
  readonly relu1: ReluCache;
  readonly unit2: ConvBnCache;
  readonly shortcut: ConvBnCache | null;
  readonly reluOut: ReluCache;
}

function unitParams(f: number, cIn: number, cOut: number, rng: Rng): ConvBnParams {
  return {
    w: he([f, f, cIn, cOut], rng),
    gamma: full([cOut], 1),
    beta: zeros([cOut]),
    bn: batchNormState(cOut),
  };
}

/**
 * Parameters of a basic block from `cIn` to `cOut` channels, He-initialized (ResNet's initialization);
 * a projection shortcut when `stride` is not 1 or the depth changes.
 */
export function residualBlockParams(
  cIn: number,
  cOut: number,
  stride: number,
  rng: Rng,
): ResidualBlockParams {
  const p: ResidualBlockParams = {
    conv1: unitParams(3, cIn, cOut, rng),
    conv2: unitParams(3, cOut, cOut, rng),
  };
  if (stride !== 1 || cIn !== cOut) p.shortcut = unitParams(1, cIn, cOut, rng);
  return p;
}

function unitForward(
  x: Tensor,
  p: ConvBnParams,
  stride: number,
  pad: number,
  mode: "train" | "test",
) {
  const k = p.w.shape[3];
  const conv = conv2dForwardIm2col(x, p.w, zeros([k]), { stride, pad, rounding: "floor" });
  const bn = spatialBatchnormForward(conv.out, p.gamma, p.beta, { mode, state: p.bn });
  return { out: bn.out, cache: { conv: conv.cache, bn: bn.cache } };
}

function unitBackward(dout: Tensor, cache: ConvBnCache) {
  const bn = spatialBatchnormBackward(dout, cache.bn);
  const conv = conv2dBackwardIm2col(bn.dx, cache.conv);
  return { dx: conv.dx, grads: { w: conv.dw, gamma: bn.dgamma, beta: bn.dbeta } };
}

/**
 * Forward pass of a basic residual block.
 *
 * @param x input `[N, H, W, C_in]`
 * @param params from `residualBlockParams` (or loaded)
 * @param opts `{ stride, mode }`
 * @returns out `[N, floor((H - 1) / S) + 1, floor((W - 1) / S) + 1, C_out]` and the cache
 * @throws {TypeError} when the shape changes but there is no projection shortcut
 *
 * @example
 * ```ts
 * import { residualBlockForward, residualBlockParams } from "convkit/layers/residual.ts";
 * import { randn, Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const rng = new Rng(0);
 * const params = residualBlockParams(4, 8, 2, rng); // halves the resolution, doubles the depth
 * const { out } = residualBlockForward(randn([2, 8, 8, 4], rng), params, { stride: 2, mode: "train" });
 * assert.deepEqual(out.shape, [2, 4, 4, 8]);
 * ```
 */
export function residualBlockForward(
  x: Tensor,
  params: ResidualBlockParams,
  opts: ResidualBlockOptions,
): { out: Tensor; cache: ResidualBlockCache } {
  const where = "residualBlockForward";
  checkTensor(where, "x", x, 4, "[N, H, W, C]");
  const { stride, mode } = opts;
  const u1 = unitForward(x, params.conv1, stride, 1, mode);
  const r1 = reluForward(u1.out);
  const u2 = unitForward(r1.out, params.conv2, 1, 1, mode);
  let skip: Tensor = x, skipCache: ConvBnCache | null = null;
  if (params.shortcut) {
    const s = unitForward(x, params.shortcut, stride, 0, mode);
    skip = s.out;
    skipCache = s.cache;
  } else if (stride !== 1 || x.shape[3] !== u2.out.shape[3]) {
    throw new TypeError(
      `${where}: the block maps ${x.shape.join("x")} to ${
        u2.out.shape.join("x")
      }, so the identity shortcut ` +
        `cannot be added; give params.shortcut (residualBlockParams makes one when stride != 1 or depth changes)`,
    );
  }
  const r = reluForward(add(u2.out, skip));
  return {
    out: r.out,
    cache: {
      layer: "residualBlock",
      unit1: u1.cache,
      relu1: r1.cache,
      unit2: u2.cache,
      shortcut: skipCache,
      reluOut: r.cache,
    },
  };
}

/**
 * Backward pass of a basic residual block.
 *
 * @param dout upstream gradient, the output's shape
 * @param cache from `residualBlockForward`
 * @returns dx (x's shape) and the gradients of every parameter
 */
export function residualBlockBackward(
  dout: Tensor,
  cache: ResidualBlockCache,
): { dx: Tensor; grads: ResidualBlockGrads } {
  const c = checkCache<ResidualBlockCache>("residualBlockBackward", cache, "residualBlock");
  const dsum = reluBackward(dout, c.reluOut).dx; // the addition copies this to both branches
  const g2 = unitBackward(dsum, c.unit2);
  const dr1 = reluBackward(g2.dx, c.relu1).dx;
  const g1 = unitBackward(dr1, c.unit1);
  const grads: ResidualBlockGrads = { conv1: g1.grads, conv2: g2.grads };
  let dxSkip = dsum;
  if (c.shortcut) {
    const gs = unitBackward(dsum, c.shortcut);
    grads.shortcut = gs.grads;
    dxSkip = gs.dx;
  }
  return { dx: add(g1.dx, dxSkip), grads };
}
