/**
 * Checks of the options both trainers share (and `evaluate`'s statistics), free of tfjs so that the
 * teaching trainer loads none.
 *
 * @module
 */
import type { ChannelStats } from "../data/batch.ts";
import type { Split } from "../data/split.ts";

/**
 * Throws unless per-channel statistics fit `c` channels: one finite mean and one std > 0 each.
 *
 * @throws {RangeError} showing the statistics given
 * @example
 * ```ts
 * import { checkStats } from "convkit/train/options.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkStats("f", { mean: [0.5], std: [0.2] }, 3), /3 finite means/);
 * ```
 */
export function checkStats(where: string, stats: ChannelStats, c: number): void {
  const ok = (a: unknown, pos: boolean) =>
    Array.isArray(a) && a.length === c &&
    a.every((v) => typeof v === "number" && Number.isFinite(v) && (!pos || v > 0));
  if (!ok(stats?.mean, false) || !ok(stats?.std, true)) {
    throw new RangeError(
      `${where}: stats must hold ${c} finite means and ${c} standard deviations > 0 (one per channel), got ${
        JSON.stringify(stats)
      }`,
    );
  }
}

/** Throws unless the options both trainers share are in range (the optimizer and schedule aside). */
export function checkTrainOptions(
  where: string,
  opts: {
    maxBatchesPerEpoch?: number;
    augment?: { cropPad?: number; flip?: boolean };
    stats?: ChannelStats;
  },
  train: Split,
): void {
  const m = opts.maxBatchesPerEpoch;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1)) {
    throw new RangeError(`${where}: maxBatchesPerEpoch must be a whole number >= 1, got ${m}`);
  }
  const pad = opts.augment?.cropPad;
  if (pad !== undefined && !(Number.isInteger(pad) && pad >= 0)) {
    throw new RangeError(
      `${where}: augment.cropPad must be a whole number of pixels >= 0, got ${pad}`,
    );
  }
  if (opts.stats) checkStats(where, opts.stats, train.shape[2]);
}
