/**
 * Which edition this tree is: the instructor's, or a student edition written by `deno task release`,
 * which marks it with `grading/edition.json`. One answer for the notebooks, the test command and
 * anything else that behaves differently for students.
 *
 * @module
 */

/**
 * True in a student edition (fresh or solved): `grading/edition.json` is there.
 *
 * @example
 * ```ts
 * import { isStudentEdition } from "convkit/edition.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof isStudentEdition(), "boolean");
 * ```
 */
export function isStudentEdition(): boolean {
  try {
    return Deno.statSync(new URL("../grading/edition.json", import.meta.url)).isFile;
  } catch {
    return false;
  }
}
