/**
 * Training tfjs models on image datasets held as bytes: seeded initialization and batch order, the
 * optimizers of optim.ts, L2 weight decay, learning-rate schedules, augmentation, a history of loss and
 * accuracy, the best validation weights kept, and callbacks for progress bars and live curves.
 *
 * The model must output logits (no softmax): the loss is softmax cross-entropy. On the wasm backend, call
 * `registerFastGrads()` first (tfjs-wasm cannot train conv layers without it).
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import { batches, type ChannelStats, makeBatch } from "../data/batch.ts";
import { fanIn } from "../init.ts";
import { endsInSoftmax } from "../models/predict.ts";
import { Rng } from "../random.ts";
import { recoverEngine, tf } from "../tf/backend.ts";
import { FusedAdamOptimizer, FusedSGDOptimizer } from "../tf/webgpu_optimizers.ts";
import { type HistoryEntry, historyEntry } from "./history.ts";
import {
  checkOptimizer,
  checkSchedule,
  LrSchedule,
  type OptimizerConfig,
  type Schedule,
} from "./optim.ts";

export { checkSplit, type Split } from "../data/split.ts";
export { checkStats, checkTrainOptions } from "./options.ts";
import { checkStats, checkTrainOptions } from "./options.ts";
import { checkSplit, type Split } from "../data/split.ts";

export type { HistoryEntry } from "./history.ts";

/** What both trainers take: length, batches, update rule, schedule, seed, normalization, validation. */
export interface BaseTrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule?: Schedule;
  /** Seeds the batch order (and the augmentation). */
  seed: number;
  /** Per-channel normalization (e.g. from `channelStats` of the training images); else scale to [0, 1]. */
  stats?: ChannelStats;
  validation?: Split;
  onEpoch?: (entry: HistoryEntry) => void | Promise<void>;
}

/** What `trainTfjs` takes. */
export interface TrainOptions extends BaseTrainOptions {
  augment?: { cropPad?: number; flip?: boolean };
  /** Restore the weights of the epoch with the best validation accuracy at the end (default true). */
  keepBest?: boolean;
  /** Stop an epoch after this many batches (a short "class-size" run). */
  maxBatchesPerEpoch?: number;
  onBatch?: (
    info: { epoch: number; batch: number; batches: number; loss: number },
  ) => void | Promise<void>;
  onEpoch?: (entry: HistoryEntry) => void | Promise<void>;
}

/**
 * Re-initializes a model's weights from the kit's seeded generator: kernels He-normal (std sqrt(2 / fan_in)),
 * everything else (biases, batch-norm shifts) 0 and batch-norm scales and variances 1. The same seed gives
 * the same weights on every machine, which tfjs's own initializers (Math.random) do not.
 */
export function seedWeights(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  const weights = model.weights.map((w) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (/kernel/.test(w.name) && shape.length >= 2) {
      const std = Math.sqrt(2 / fanIn(shape));
      for (let i = 0; i < size; i++) data[i] = std * rng.normal();
    } else if (/gamma|moving_variance/.test(w.name)) data.fill(1);
    return tf.tensor(data, shape);
  });
  model.setWeights(weights);
  tf.dispose(weights);
}

function optimizerFor(c: OptimizerConfig): tf.Optimizer {
  switch (c.name) {
    // SGD and Adam: tfjs's, with fewer dispatches per update on webgpu (lib/tf/webgpu_optimizers.ts)
    case "sgd":
      return new FusedSGDOptimizer(c.lr);
    case "momentum":
      return tf.train.momentum(c.lr, c.momentum ?? 0.9);
    case "rmsprop":
      return tf.train.rmsprop(c.lr, c.decay ?? 0.9, 0, c.epsilon ?? 1e-7);
    case "adam":
      return new FusedAdamOptimizer(c.lr, c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.epsilon ?? 1e-7);
  }
}

function setLr(opt: tf.Optimizer, lr: number) {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Accuracy of a model on a split (batches of `batchSize`, no augmentation), with the predicted labels.
 * `flip: true` is test-time augmentation as AlexNet did it (with crops too): each image and its mirror
 * image are classified and their class probabilities averaged. Reads its results asynchronously, as
 * the webgpu backend requires (a synchronous read throws there).
 */
export async function evaluate(
  model: tfl.LayersModel,
  split: Split,
  opts: { stats?: ChannelStats; batchSize?: number; flip?: boolean } = {},
): Promise<{ accuracy: number; predictions: Int32Array }> {
  checkSplit("evaluate", "evaluated", split, (model.outputs[0].shape.at(-1) ?? 0) as number);
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) {
    throw new RangeError(`evaluate: batchSize must be a whole number >= 1, got ${opts.batchSize}`);
  }
  if (opts.stats) checkStats("evaluate", opts.stats, split.shape[2]);
  recoverEngine();
  const bs = opts.batchSize ?? 256;
  const predictions = new Int32Array(split.n);
  const probs = (x: tf.Tensor4D) => {
    const out = model.predict(x) as tf.Tensor2D;
    return endsInSoftmax(model) ? out : tf.softmax(out);
  };
  let correct = 0;
  for (let start = 0; start < split.n; start += bs) {
    const idx = Int32Array.from({ length: Math.min(bs, split.n - start) }, (_, i) => start + i);
    const x = makeBatch(split.images, idx, {
      shape: split.shape,
      stats: opts.stats,
      float32: true,
    });
    const pred = tf.tidy(() => {
      const xt = tf.tensor4d(x as Float32Array, [idx.length, ...split.shape]);
      if (!opts.flip) return tf.argMax(model.predict(xt) as tf.Tensor, 1);
      return tf.argMax(tf.add(probs(xt), probs(tf.reverse(xt, 2))), 1);
    });
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < idx.length; i++) {
      predictions[start + i] = p[i];
      if (p[i] === split.labels[start + i]) correct++;
    }
  }
  return { accuracy: correct / split.n, predictions };
}

/**
 * Trains `model` on `train`; returns the history and, with a validation split, the best epoch (whose weights
 * the model holds at the end unless `keepBest` is false).
 *
 * @see ../../notebooks/15_assignment.ipynb
 */
export async function trainTfjs(
  model: tfl.LayersModel,
  train: Split,
  opts: TrainOptions,
): Promise<{ history: HistoryEntry[]; best?: { epoch: number; valAcc: number } }> {
  for (const [key, v] of [["epochs", opts.epochs], ["batchSize", opts.batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`trainTfjs: ${key} must be a whole number >= 1, got ${v}`);
    }
  }
  checkOptimizer("trainTfjs", opts.optimizer);
  if (opts.schedule) checkSchedule("trainTfjs", opts.schedule, opts.optimizer.lr);
  checkTrainOptions("trainTfjs", opts, train);
  const classes = (model.outputs[0].shape.at(-1) ?? 0) as number;
  checkSplit("trainTfjs", "train", train, classes);
  if (opts.validation) checkSplit("trainTfjs", "validation", opts.validation, classes);
  // a training cell stopped by Interrupt leaves tfjs's gradient tape open: close it first
  if (recoverEngine()) {
    console.log("trainTfjs: closed what an interrupted computation left open in tfjs");
  }
  const rng = new Rng(opts.seed);
  const opt = optimizerFor(opts.optimizer);
  const schedule = new LrSchedule(opts.optimizer.lr, opts.schedule);
  const wd = opts.optimizer.weightDecay ?? 0;
  const kernels = model.trainableWeights.filter((w) => /kernel/.test(w.name)).map((w) => w.read());
  const history: HistoryEntry[] = [];
  let best: { epoch: number; valAcc: number; weights: tf.Tensor[] } | undefined;
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const t0 = performance.now();
      let plan = batches(train.n, opts.batchSize, rng);
      if (opts.maxBatchesPerEpoch) plan = plan.slice(0, opts.maxBatchesPerEpoch);
      let lossSum = 0, correct = 0, seen = 0;
      for (let b = 0; b < plan.length; b++) {
        const idx = plan[b];
        const x = makeBatch(train.images, idx, {
          shape: train.shape,
          stats: opts.stats,
          cropPad: opts.augment?.cropPad,
          flip: opts.augment?.flip,
          rng: opts.augment ? rng : undefined,
          float32: true,
        });
        const labels = Int32Array.from(idx, (i) => train.labels[i]);
        // loss and hits come back in one read: on webgpu each read waits for the GPU (a round trip a step)
        const lossAndHits = tf.tidy(() => {
          let hits: tf.Tensor | undefined;
          const xt = tf.tensor4d(x as Float32Array, [idx.length, ...train.shape]);
          const yt = tf.oneHot(tf.tensor1d(labels, "int32"), classes);
          const loss = opt.minimize(() => {
            const logits = model.apply(xt, { training: true }) as tf.Tensor;
            hits = tf.keep(
              tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(yt, 1)), "float32")),
            );
            let l = tf.losses.softmaxCrossEntropy(yt, logits) as tf.Scalar;
            if (wd > 0) {
              l = tf.add(
                l,
                tf.mul(0.5 * wd, tf.addN(kernels.map((k) => tf.sum(tf.square(k))))),
              ) as tf.Scalar;
            }
            return l;
          }, true)!;
          const both = tf.stack([loss, hits!]);
          hits!.dispose(); // kept out of minimize's tidy, so this one would not free it
          return both;
        });
        const [lossValue, hitCount] = await lossAndHits.data();
        lossAndHits.dispose();
        correct += hitCount;
        if (!Number.isFinite(lossValue)) {
          throw new Error(
            `trainTfjs: the loss became ${lossValue} in epoch ${epoch}; lower the learning rate`,
          );
        }
        lossSum += lossValue * idx.length;
        seen += idx.length;
        await opts.onBatch?.({ epoch, batch: b + 1, batches: plan.length, loss: lossValue });
      }
      const seconds = (performance.now() - t0) / 1000;
      const valAcc = opts.validation
        ? (await evaluate(model, opts.validation, { stats: opts.stats })).accuracy
        : undefined;
      const entry = historyEntry(
        epoch,
        lossSum,
        seen,
        correct / seen,
        valAcc,
        schedule.lr,
        seconds,
      );
      history.push(entry);
      if (valAcc !== undefined && (!best || valAcc > best.valAcc)) {
        best?.weights.forEach((w) => w.dispose());
        best = { epoch, valAcc, weights: model.getWeights().map((w) => w.clone()) };
      }
      await opts.onEpoch?.(entry);
      setLr(opt, schedule.next(epoch, valAcc));
    }
    if (best && (opts.keepBest ?? true)) model.setWeights(best.weights);
    return { history, ...(best ? { best: { epoch: best.epoch, valAcc: best.valAcc } } : {}) };
  } finally {
    best?.weights.forEach((w) => w.dispose());
    opt.dispose();
  }
}
