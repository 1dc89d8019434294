/**
 * What one conv layer holds and computes: the arithmetic behind every case-study summary. No imports
 * beyond the spec types, so that it runs anywhere (the grader's sandbox too).
 *
 * @module
 */
import type { Unit } from "./layer_counts.ts";
import { type Volume, windowOut } from "./spec.ts";

export { addCounts, EMPTY, type LayerCounts, type Unit } from "./layer_counts.ts";

/**
 * What one conv layer holds and computes, on an input volume `[H, W, D]`: its output volume
 * `[(H - FH + 2P) / S + 1, (W - FW + 2P) / S + 1, K]` (rounded down), `FH * FW * (D / groups) * K` weights, K
 * biases (none with batch norm unless `bias` says so), 2K batch-norm parameters and 2K statistics with `bn`,
 * the output's values as activations, and one multiply-add per weight per output position.
 *
 * @example
 * ```ts
 * import { convLayerCounts } from "convkit/models/counts.ts";
 * import assert from "node:assert/strict";
 * const c = convLayerCounts("CONV1", [227, 227, 3], 96, 11, 11, 4, 0); // AlexNet's CONV1
 * assert.deepEqual([...c.out], [55, 55, 96]);
 * assert.equal(c.weights, 34_848);
 * ```
 */
export function convLayerCounts(
  where: string,
  input: Volume,
  k: number,
  fh: number,
  fw: number,
  stride: number,
  pad: number | "same",
  opts: { bias?: boolean; bn?: boolean; groups?: number } = {},
): Unit {
  const [h, w, d] = input;
  const groups = opts.groups ?? 1;
  for (
    const [name, v] of [["filters", k], ["input depth", d], ["groups", groups], [
      "filter height",
      fh,
    ], [
      "filter width",
      fw,
    ], ["stride", stride]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${where}: ${name} must be a whole number >= 1, got ${v}`);
    }
  }
  if (d % groups !== 0 || k % groups !== 0) {
    throw new RangeError(
      `${where}: ${groups} groups must divide the input depth ${d} and the ${k} filters`,
    );
  }
  // BEGIN SOLUTION ex7 Return { out, weights, biases, bnParams, bnStats, activations, multAdds }: the output volume (windowOut for each axis), FH*FW*(D/groups)*K weights, K biases when opts.bias (which defaults to !opts.bn) else 0, 2K bnParams and 2K bnStats with opts.bn, the output's values as activations, and output positions x K x FH*FW*(D/groups) multiply-adds.
  const out: Volume = [
    windowOut(h, fh, stride, pad, false, `${where} (height)`),
    windowOut(w, fw, stride, pad, false, `${where} (width)`),
    k,
  ];
  const perFilter = fh * fw * (d / groups);
  const bn = opts.bn ?? false;
  return {
    out,
    weights: perFilter * k,
    biases: (opts.bias ?? !bn) ? k : 0,
    bnParams: bn ? 2 * k : 0,
    bnStats: bn ? 2 * k : 0,
    activations: out[0] * out[1] * k,
    multAdds: out[0] * out[1] * k * perFilter,
  };
  // END SOLUTION
}
