/**
 * Update rules for the teaching layers' float64 parameters, in place: SGD, SGD with momentum, RMSProp and
 * Adam, each with optional (L2) weight decay. Each rule keeps its state (velocity, moments) in a `state`
 * object per parameter, as CS231n's `optim.py` does, and computes what tfjs's optimizers of the same name
 * compute (checked in tests/train/optim_test.ts).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";

/** Which rule, and its hyperparameters. */
export type OptimizerConfig =
  | { name: "sgd"; lr: number; weightDecay?: number }
  | { name: "momentum"; lr: number; momentum?: number; weightDecay?: number }
  | { name: "rmsprop"; lr: number; decay?: number; epsilon?: number; weightDecay?: number }
  | {
    name: "adam";
    lr: number;
    beta1?: number;
    beta2?: number;
    epsilon?: number;
    weightDecay?: number;
  };

/** The names of the rules. */
export const OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam"] as const;

/**
 * Throws unless `c` is a rule the kit knows with hyperparameters in range: lr > 0, weightDecay >= 0,
 * momentum, decay, beta1 and beta2 in [0, 1), epsilon > 0 (all finite).
 *
 * @throws {RangeError} naming the option and its value, or the unknown rule and the known ones
 * @example
 * ```ts
 * import { checkOptimizer } from "convkit/train/optim.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkOptimizer("f", { name: "sgd", lr: -1 }), /f: optimizer.lr must be a number > 0, got -1/);
 * assert.throws(() => checkOptimizer("f", { name: "adamw", lr: 1 } as never), /unknown optimizer "adamw".*sgd, momentum/);
 * ```
 */
export function checkOptimizer(where: string, c: OptimizerConfig): void {
  if (!c || !OPTIMIZERS.includes(c.name)) {
    throw new RangeError(
      `${where}: unknown optimizer "${(c as { name?: unknown })?.name}"; the kit has ${
        OPTIMIZERS.join(", ")
      }`,
    );
  }
  const o = c as Record<string, unknown>;
  const ranges: [string, (v: number) => boolean, string][] = [
    ["lr", (v) => v > 0, "> 0"],
    ["weightDecay", (v) => v >= 0, ">= 0"],
    ["momentum", (v) => v >= 0 && v < 1, "in [0, 1)"],
    ["decay", (v) => v >= 0 && v < 1, "in [0, 1)"],
    ["beta1", (v) => v >= 0 && v < 1, "in [0, 1)"],
    ["beta2", (v) => v >= 0 && v < 1, "in [0, 1)"],
    ["epsilon", (v) => v > 0, "> 0"],
  ];
  for (const [key, ok, text] of ranges) {
    const v = o[key];
    if (v === undefined && key !== "lr") continue;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
      throw new RangeError(`${where}: optimizer.${key} must be a number ${text}, got ${v}`);
    }
  }
}

/** Per-parameter state of a rule (velocity, moments, step count). */
export interface OptimizerState {
  v?: Float64Array;
  m?: Float64Array;
  t?: number;
}

/**
 * Applies one update to `w` given its gradient `dw` (and `weightDecay * w` added to it when set).
 *
 * - sgd: `w -= lr * g`
 * - momentum: `v = momentum * v + g; w -= lr * v` (tfjs's form; default momentum 0.9)
 * - rmsprop: `s = decay * s + (1 - decay) * g²; w -= lr * g / sqrt(s + eps)` (default decay 0.9, eps 1e-7)
 * - adam: bias-corrected moments, `w -= lr * m̂ / (sqrt(v̂) + eps)` (defaults 0.9, 0.999, 1e-7)
 *
 * @example
 * ```ts
 * import { step } from "convkit/train/optim.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const w = tensor([1, 2], [2]);
 * step(w, tensor([0.5, -1], [2]), { name: "sgd", lr: 0.1 }, {});
 * assert.deepEqual([...w.data], [0.95, 2.1]);
 * ```
 */
export function step(w: Tensor, dw: Tensor, config: OptimizerConfig, state: OptimizerState): void {
  if (w.data.length !== dw.data.length) {
    throw new RangeError(
      `step: a gradient of ${dw.data.length} values for a parameter of ${w.data.length}`,
    );
  }
  if (!(config.lr > 0)) {
    throw new RangeError(`step: the learning rate must be > 0, got ${config.lr}`);
  }
  const n = w.data.length, wd = config.weightDecay ?? 0;
  const g = (i: number) => dw.data[i] + wd * w.data[i];
  switch (config.name) {
    case "sgd":
      for (let i = 0; i < n; i++) w.data[i] -= config.lr * g(i);
      return;
    case "momentum": {
      const mu = config.momentum ?? 0.9;
      const v = state.v ??= new Float64Array(n);
      for (let i = 0; i < n; i++) {
        v[i] = mu * v[i] + g(i);
        w.data[i] -= config.lr * v[i];
      }
      return;
    }
    case "rmsprop": {
      const decay = config.decay ?? 0.9, eps = config.epsilon ?? 1e-7;
      const s = state.v ??= new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const gi = g(i);
        s[i] = decay * s[i] + (1 - decay) * gi * gi;
        w.data[i] -= config.lr * gi / Math.sqrt(s[i] + eps);
      }
      return;
    }
    case "adam": {
      const b1 = config.beta1 ?? 0.9, b2 = config.beta2 ?? 0.999, eps = config.epsilon ?? 1e-7;
      const m = state.m ??= new Float64Array(n), v = state.v ??= new Float64Array(n);
      const t = state.t = (state.t ?? 0) + 1;
      const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
      for (let i = 0; i < n; i++) {
        const gi = g(i);
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w.data[i] -= config.lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
      }
      return;
    }
  }
}

/**
 * A learning-rate schedule: a constant, steps (divide by `factor` every `every` epochs), on plateau, or a
 * cosine from the initial rate down to `minLr` (default 0) over `epochs` epochs.
 */
export type Schedule =
  | { kind: "constant" }
  | { kind: "step"; every: number; factor: number }
  | { kind: "plateau"; patience: number; factor: number; minLr?: number }
  | { kind: "cosine"; epochs: number; minLr?: number };

/**
 * Throws unless a schedule makes sense: a known kind; "step" every whole number >= 1 of epochs, and
 * "plateau" with a patience >= 1, each dividing the rate by a factor >= 1 (a factor below 1 would raise
 * it, a negative one flip its sign); "cosine" over epochs >= 1; minLr in [0, starting rate).
 *
 * @throws {RangeError} naming the option and its value
 * @example
 * ```ts
 * import { checkSchedule } from "convkit/train/optim.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkSchedule("f", { kind: "step", every: 1, factor: -1 }, 0.1), /schedule\.factor must be a number >= 1/);
 * ```
 */
export function checkSchedule(where: string, s: Schedule, lr: number): void {
  const kinds = ["constant", "step", "plateau", "cosine"];
  if (!s || !kinds.includes(s.kind)) {
    throw new RangeError(
      `${where}: unknown schedule "${(s as { kind?: unknown })?.kind}"; the kinds are ${
        kinds.join(", ")
      }`,
    );
  }
  const o = s as Record<string, unknown>;
  const need = (key: string, ok: (v: number) => boolean, text: string, optional = false) => {
    const v = o[key];
    if (optional && v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
      throw new RangeError(`${where}: schedule.${key} must be ${text}, got ${v}`);
    }
  };
  const whole = (v: number) => Number.isInteger(v) && v >= 1;
  if (s.kind === "step") {
    need("every", whole, "a whole number of epochs >= 1");
    need("factor", (v) => v >= 1, "a number >= 1 (the rate is divided by it)");
  } else if (s.kind === "plateau") {
    need("patience", whole, "a whole number of epochs >= 1");
    need("factor", (v) => v >= 1, "a number >= 1 (the rate is divided by it)");
  } else if (s.kind === "cosine") {
    need("epochs", whole, "a whole number of epochs >= 1");
  }
  if (s.kind === "plateau" || s.kind === "cosine") {
    need(
      "minLr",
      (v) => v >= 0 && v < lr,
      `a number in [0, ${lr}) (below the starting rate)`,
      true,
    );
  }
}

/**
 * Tracks a schedule across epochs: `next(epoch, valMetric)` returns the learning rate for the next epoch.
 * "plateau" divides by `factor` when the validation metric (higher is better) has not improved for
 * `patience` epochs, as ResNet's training divided by 10. "cosine" gives epoch e (0-based) of E the rate
 * `minLr + (initial - minLr) * (1 + cos(pi * e / E)) / 2` (Loshchilov & Hutter's SGDR without restarts).
 *
 * @example
 * ```ts
 * import { LrSchedule } from "convkit/train/optim.ts";
 * import assert from "node:assert/strict";
 * const s = new LrSchedule(0.1, { kind: "plateau", patience: 1, factor: 10 });
 * assert.equal(s.next(1, 0.5), 0.1);
 * assert.equal(s.next(2, 0.5), 0.01); // no improvement for one epoch
 * ```
 */
export class LrSchedule {
  lr: number;
  #best = -Infinity;
  #since = 0;
  constructor(readonly initial: number, readonly schedule: Schedule = { kind: "constant" }) {
    checkSchedule("LrSchedule", schedule, initial);
    this.lr = initial;
  }

  /** The learning rate after `epoch` (1-based) finished with validation metric `metric`. */
  next(epoch: number, metric?: number): number {
    const s = this.schedule;
    if (s.kind === "step" && epoch % s.every === 0) this.lr /= s.factor;
    if (s.kind === "cosine") {
      const min = s.minLr ?? 0, t = Math.min(epoch, s.epochs) / s.epochs;
      this.lr = min + (this.initial - min) * (1 + Math.cos(Math.PI * t)) / 2;
    }
    if (s.kind === "plateau" && metric !== undefined) {
      if (metric > this.#best) {
        this.#best = metric;
        this.#since = 0;
      } else if (++this.#since >= s.patience) {
        this.lr = Math.max(this.lr / s.factor, s.minLr ?? 0);
        this.#since = 0;
      }
    }
    return this.lr;
  }
}
