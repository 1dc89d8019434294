/**
 * "Same" padding at stride 1, in a module of its own so that the library's tfjs layers need no file that
 * holds an exercise (`shape.ts` holds ex1).
 *
 * @module
 */

/** The pad that keeps the output size equal to the input size at stride 1: `P = (F - 1) / 2`. */
export function samePad(f: number): number {
  if (!Number.isInteger(f) || f < 1 || f % 2 === 0) {
    throw new RangeError(`samePad: (F - 1) / 2 is a whole number only for odd F, got F = ${f}`);
  }
  return (f - 1) / 2;
}
