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
