/**
 * Check cells for the assignment notebook: `await checkExercise("ex2.1")` runs the exercise's visible
 * cases, with inputs drawn afresh each time, on your `lib/` and compares each output with the library's
 * op (TensorFlow.js at float32, or the library's arithmetic). A failing check says where the worst
 * elements are (`[n, h, w, c]`) and what kind of mistake the output looks like (`diagnose.ts`).
 *
 * The exercise's module is imported afresh at every call, so edits show without restarting the kernel.
 * (Modules it imports are not reloaded: after editing one of those, restart the kernel.)
 *
 * @module
 */
import { JUPYTER_DISPLAY, type MimeBundle, table } from "../lib/display.ts";
import { visibleCases } from "./cases.ts";
import { exercise } from "./exercises.ts";
import { judge } from "./judge.ts";
import { runProgram } from "./program.ts";
import { libraryImporter } from "./reference.ts";

let generation = 0;

/** One line of a check: the case, whether it passed, and what went wrong. */
export interface CheckLine {
  name: string;
  passed: boolean;
  detail: string;
}

/** The result of a check cell: displayable, and `passed` for code that wants to know. */
export interface CheckResult {
  exercise: string;
  passed: boolean;
  lines: CheckLine[];
  [JUPYTER_DISPLAY](): MimeBundle;
}

/**
 * Runs the visible cases of one exercise on this tree's `lib/` and shows what each gave.
 *
 * @param id an exercise id from `grading/exercises.ts`, e.g. "ex2.1"
 * @param seed the inputs' seed (default: fresh ones every run)
 * @throws {RangeError} for an unknown exercise id (the message lists them)
 * @example
 * ```ts
 * import { checkExercise } from "grading/check.ts";
 * import assert from "node:assert/strict";
 * const r = await checkExercise("ex1");
 * assert.equal(r.lines.length, 6);
 * ```
 */
export async function checkExercise(id: string, seed?: string): Promise<CheckResult> {
  const ex = exercise(id);
  const cases = visibleCases(seed).filter((c) => c.exercise === ex.id);
  const lib = new URL("../lib/", import.meta.url);
  const g = ++generation;
  const fresh = (p: string) =>
    p === ex.file ? `${new URL(p, lib).href}?check=${g}` : new URL(p, lib).href;
  const lines: CheckLine[] = [];
  for (const c of cases) {
    const ref = await runProgram(c.program, libraryImporter);
    const mine = await runProgram(c.program, (p) => import(fresh(p)));
    const v = judge(c, mine, ref);
    lines.push({
      name: c.name,
      passed: v.passed,
      detail: v.passed
        ? Object.values(c.compare).some((k) => k.kind === "close")
          ? "matches the library's op (float32 reference)"
          : "right"
        : v.message ?? "failed",
    });
  }
  const passed = lines.every((l) => l.passed);
  const summary =
    `${ex.id} ${ex.title}: ${lines.filter((l) => l.passed).length} of ${lines.length} checks pass` +
    (passed ? "" : ` (edit lib/${ex.file}, look for "TODO ${ex.id}", then run this cell again)`);
  const rows = lines.map((l) => ({
    check: l.name,
    result: l.passed ? "✓" : "✗",
    detail: l.detail,
  }));
  return {
    exercise: id,
    passed,
    lines,
    [JUPYTER_DISPLAY]: () => {
      const bundle = table(rows)[JUPYTER_DISPLAY]();
      return {
        "text/html": `<p><b>${summary}</b></p>${bundle["text/html"]}`,
        "text/markdown": `**${summary}**\n\n${bundle["text/markdown"]}`,
        "text/plain": `${summary}\n${bundle["text/plain"]}`,
      };
    },
  };
}
