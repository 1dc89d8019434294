/**
 * Seeded randomness for the kit: the same seed gives the same numbers on every machine.
 * Nothing in the kit calls `Math.random`.
 *
 * @module
 */
import { type Shape, sizeOf, type Tensor } from "./tensor.ts";

/**
 * A small, fast, seeded generator (mulberry32 over 32-bit state), plus the draws the kit needs.
 *
 * @example
 * ```ts
 * import { Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const a = new Rng(42), b = new Rng(42);
 * assert.equal(a.uniform(), b.uniform());
 * const u = new Rng(1).uniform();
 * assert.ok(u >= 0 && u < 1);
 * ```
 */
export class Rng {
  #state: number;
  #spare: number | undefined;

  /** @param seed any whole number; equal seeds give equal streams */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new RangeError(`Rng: seed must be a whole number, got ${seed}`);
    }
    this.#state = seed >>> 0;
  }

  /** A uniform draw in [0, 1). */
  uniform(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A whole number in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Rng.int: n must be a whole number >= 1, got ${n}`);
    }
    return Math.floor(this.uniform() * n);
  }

  /** A random order of 0 .. n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * A tensor of normal draws with standard deviation `scale`.
 *
 * @example
 * ```ts
 * import { randn, Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const x = randn([2, 5, 5, 3], new Rng(0));
 * assert.deepEqual(x.shape, [2, 5, 5, 3]);
 * assert.deepEqual(randn([4], new Rng(7)).data, randn([4], new Rng(7)).data);
 * ```
 */
export function randn(shape: Shape, rng: Rng, scale = 1): Tensor {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.normal();
  return { data, shape: [...shape] };
}

/** A tensor of uniform draws in [lo, hi). */
export function randu(shape: Shape, rng: Rng, lo = 0, hi = 1): Tensor {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return { data, shape: [...shape] };
}

/** `n` labels drawn uniformly from 0 .. classes-1. */
export function randLabels(n: number, classes: number, rng: Rng): Int32Array {
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(classes);
  return y;
}
