/**
 * Training the teaching layers (float64), as CS231n's Solver does: batches drawn in a seeded order, a loss
 * function returning the loss and the gradient of every parameter, an update rule from optim.ts per
 * parameter, a history, and the parameters of the best validation epoch restored at the end.
 *
 * @module
 */
import { type ChannelStats, makeBatch } from "../data/batch.ts";
import { Rng } from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { checkOptimizer, checkSchedule, LrSchedule, type OptimizerState, step } from "./optim.ts";
import { type HistoryEntry, historyEntry } from "./history.ts";
import { checkSplit, type Split } from "../data/split.ts";
import { checkTrainOptions } from "./options.ts";
import type { BaseTrainOptions } from "./trainer.ts";

/** Parameters by name (an interface such as ThreeLayerConvNetParams will do). */
export type Params<P> = { [K in keyof P]: Tensor };

/** A model for the solver: scores for a batch, or the loss and gradients with labels. */
export type LossFn<P extends Params<P>> = (
  params: P,
  x: Tensor,
  y?: ArrayLike<number>,
) => { scores: Tensor; loss?: number; grads?: P };

/** Options of `trainTeaching`: those of `trainTfjs` without augmentation or per-batch callbacks. */
export type TeachingTrainOptions = BaseTrainOptions;

function accuracy<P extends Params<P>>(
  loss: LossFn<P>,
  params: P,
  split: Split,
  stats?: ChannelStats,
): number {
  let correct = 0;
  for (let start = 0; start < split.n; start += 100) {
    const idx = Int32Array.from({ length: Math.min(100, split.n - start) }, (_, i) => start + i);
    const x = {
      data: makeBatch(split.images, idx, { shape: split.shape, stats }) as Float64Array,
      shape: [idx.length, ...split.shape],
    };
    const { scores } = loss(params, x);
    const c = scores.shape[1];
    for (let i = 0; i < idx.length; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (scores.data[i * c + j] > scores.data[i * c + best]) best = j;
      if (best === split.labels[start + i]) correct++;
    }
  }
  return correct / split.n;
}

/**
 * Trains `params` in place with `loss` on `train` (images scaled to [0, 1]); returns the history.
 *
 * @example
 * ```ts
 * import { trainTeaching } from "convkit/train/teaching_trainer.ts";
 * import { threeLayerConvNetInit, threeLayerConvNetLoss } from "convkit/models/three_layer_convnet.ts";
 * import { Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const params = threeLayerConvNetInit({ inputDim: [8, 8, 1], filters: 2, filterSize: 3, hidden: 8, classes: 2, weightScale: 0.1 }, new Rng(0));
 * // 8 images: bright ones are class 1
 * const images = new Uint8Array(8 * 64).map((_, i) => (Math.floor(i / 64) % 2 ? 200 : 20));
 * const train = { images, labels: [0, 1, 0, 1, 0, 1, 0, 1], n: 8, shape: [8, 8, 1] as const };
 * const { history } = await trainTeaching(params, threeLayerConvNetLoss, train, { epochs: 20, batchSize: 4, optimizer: { name: "adam", lr: 0.01 }, seed: 1 });
 * assert.equal(history.at(-1)!.trainAcc, 1);
 * ```
 */
export async function trainTeaching<P extends Params<P>>(
  params: P,
  loss: LossFn<P>,
  train: Split,
  opts: TeachingTrainOptions,
): Promise<{ history: HistoryEntry[]; best?: { epoch: number; valAcc: number } }> {
  for (const [key, v] of [["epochs", opts.epochs], ["batchSize", opts.batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`trainTeaching: ${key} must be a whole number >= 1, got ${v}`);
    }
  }
  checkOptimizer("trainTeaching", opts.optimizer);
  if (opts.schedule) checkSchedule("trainTeaching", opts.schedule, opts.optimizer.lr);
  checkTrainOptions("trainTeaching", opts, train);
  // the classes are the loss's business: here whole numbers >= 0, and a split that is not empty
  checkSplit("trainTeaching", "train", train, Infinity);
  if (opts.validation) checkSplit("trainTeaching", "validation", opts.validation, Infinity);
  const rng = new Rng(opts.seed);
  const ps = params as unknown as Record<string, Tensor>;
  const schedule = new LrSchedule(opts.optimizer.lr, opts.schedule);
  const states: Record<string, OptimizerState> = {};
  const history: HistoryEntry[] = [];
  let best: { epoch: number; valAcc: number; params: Record<string, Float64Array> } | undefined;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = performance.now();
    const order = rng.permutation(train.n);
    let lossSum = 0, seen = 0;
    for (let start = 0; start < train.n; start += opts.batchSize) {
      const idx = order.subarray(start, Math.min(train.n, start + opts.batchSize));
      const x = {
        data: makeBatch(train.images, idx, {
          shape: train.shape,
          stats: opts.stats,
        }) as Float64Array,
        shape: [idx.length, ...train.shape],
      };
      const y = Int32Array.from(idx, (i) => train.labels[i]);
      const r = loss(params, x, y);
      if (!Number.isFinite(r.loss)) {
        throw new Error(
          `trainTeaching: the loss became ${r.loss} in epoch ${epoch}; lower the learning rate`,
        );
      }
      const ps = params as unknown as Record<string, Tensor>,
        gs = r.grads as unknown as Record<string, Tensor>;
      for (const name of Object.keys(ps)) {
        step(ps[name], gs[name], { ...opts.optimizer, lr: schedule.lr }, states[name] ??= {});
      }
      lossSum += r.loss! * idx.length;
      seen += idx.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const valAcc = opts.validation
      ? accuracy(loss, params, opts.validation, opts.stats)
      : undefined;
    const trainAcc = accuracy(loss, params, train, opts.stats);
    const entry = historyEntry(epoch, lossSum, seen, trainAcc, valAcc, schedule.lr, seconds);
    history.push(entry);
    if (valAcc !== undefined && (!best || valAcc > best.valAcc)) {
      best = {
        epoch,
        valAcc,
        params: Object.fromEntries(Object.entries(ps).map(([k, t]) => [k, t.data.slice()])),
      };
    }
    await opts.onEpoch?.(entry);
    schedule.next(epoch, valAcc);
  }
  if (best) { for (const [k, data] of Object.entries(best.params)) ps[k].data.set(data); }
  return { history, ...(best ? { best: { epoch: best.epoch, valAcc: best.valAcc } } : {}) };
}
