/**
 * Inverted dropout: in train mode each activation is zeroed with probability p and the survivors are
 * scaled by 1 / (1 - p), so that test mode is the identity and the expected activation is unchanged.
 *
 * @module
 */
import type { Rng } from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { checkCache, checkShapeIs, checkTensor } from "./checks.ts";

/** Options of the dropout forward pass. */
export interface DropoutOptions {
  /** Probability of dropping an activation, in [0, 1) (AlexNet used 0.5). */
  p: number;
  /** "train" drops; "test" passes x through unchanged. */
  mode: "train" | "test";
  /** The seeded generator that draws the mask (train mode). */
  rng?: Rng;
}

/** What the forward pass keeps: the mask, 0 or 1 / (1 - p) per element. */
export interface DropoutCache {
  readonly layer: "dropout";
  readonly mask: Float64Array | null;
  readonly shape: readonly number[];
}

/**
 * Dropout forward.
 *
 * @param x input of any shape
 * @param opts `{ p, mode, rng }`
 * @returns out (x's shape) and the cache for `dropoutBackward`
 *
 * @example
 * ```ts
 * import { dropoutForward } from "convkit/layers/dropout.ts";
 * import { Rng } from "convkit/random.ts";
 * import { full } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const { out } = dropoutForward(full([1000], 1), { p: 0.5, mode: "train", rng: new Rng(0) });
 * assert.ok(out.data.every((v) => v === 0 || v === 2)); // dropped, or kept and scaled by 1 / (1 - 0.5)
 * const kept = out.data.filter((v) => v === 2).length;
 * assert.ok(kept > 430 && kept < 570);
 * ```
 */
export function dropoutForward(
  x: Tensor,
  opts: DropoutOptions,
): { out: Tensor; cache: DropoutCache } {
  const where = "dropoutForward";
  checkTensor(where, "x", x);
  if (!(opts?.p >= 0 && opts.p < 1)) {
    throw new RangeError(`${where}: p must be in [0, 1), got ${opts?.p}`);
  }
  if (opts.mode === "test") {
    return {
      out: { data: x.data.slice(), shape: [...x.shape] },
      cache: { layer: "dropout", mask: null, shape: [...x.shape] },
    };
  }
  if (opts.mode !== "train") {
    throw new TypeError(
      `${where}: mode must be "train" or "test", got ${JSON.stringify(opts.mode)}`,
    );
  }
  if (!opts.rng) {
    throw new TypeError(`${where}: train mode needs a seeded generator, e.g. { rng: new Rng(0) }`);
  }
  const keep = 1 / (1 - opts.p);
  const mask = new Float64Array(x.data.length);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < mask.length; i++) {
    mask[i] = opts.rng.uniform() < opts.p ? 0 : keep;
    out[i] = x.data[i] * mask[i];
  }
  return {
    out: { data: out, shape: [...x.shape] },
    cache: { layer: "dropout", mask, shape: [...x.shape] },
  };
}

/**
 * Dropout backward: the gradient flows through the kept units, scaled like them.
 *
 * @param dout upstream gradient, x's shape
 * @param cache from `dropoutForward`
 * @returns dx
 */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): { dx: Tensor } {
  const { mask, shape } = checkCache<DropoutCache>("dropoutBackward", cache, "dropout");
  checkShapeIs("dropoutBackward", "dout", dout, shape);
  const dx = mask === null ? dout.data.slice() : dout.data.map((g, i) => g * mask[i]);
  return { dx: { data: dx, shape: [...shape] } };
}
