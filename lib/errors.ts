/**
 * The kit's error for input of the wrong shape. In a module of its own, with no imports, so that every
 * module can throw it without loading a file that holds an exercise (`shape.ts` holds ex1: a student's
 * syntax error there must not stop the rest of the library).
 *
 * @module
 */

/** A shape problem: what was expected and what arrived. A `TypeError`, since the input is of the wrong kind. */
export class ShapeError extends TypeError {
  /** What the function needed (a shape, or the numbers it compared). */
  readonly expected: readonly number[];
  /** What it got. */
  readonly actual: readonly number[];
  constructor(message: string, detail: { expected: readonly number[]; actual: readonly number[] }) {
    super(message);
    this.name = "ShapeError";
    this.expected = [...detail.expected];
    this.actual = [...detail.actual];
  }
}

/**
 * Throws a RangeError naming the first of a window's sizes that is not a whole number in range: input
 * size and filter size >= 1, stride >= 1, pad >= 0.
 *
 * @example
 * ```ts
 * import { checkWindowSizes } from "convkit/errors.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkWindowSizes("f", 7, 3, 0, 0), /f: stride must be a whole number >= 1, got 0/);
 * ```
 */
export function checkWindowSizes(where: string, n: number, f: number, s: number, p: number): void {
  const sizes = [["input size", n, 1], ["filter size", f, 1], ["stride", s, 1], [
    "pad",
    p,
    0,
  ]] as const;
  for (const [name, v, min] of sizes) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${where}: ${name} must be a whole number >= ${min}, got ${v}`);
    }
  }
  if (n + 2 * p > 2 ** 24 || f > 2 ** 24) {
    throw new RangeError(
      `${where}: a padded input of ${n} + 2*${p} or a filter of ${f} is beyond what the kit computes (2^24)`,
    );
  }
}
