/**
 * Check cells for the assignment notebook: `await checkExercise("ex2.1")` runs the exercise's visible
 * cases on your `lib/` and shows, for each output, the relative error against the reference and what it
 * should be (below 1e-8 for float64 layers; an error around 1e-2 or larger means a bug, not rounding).
 *
 * The exercise's module is imported afresh at every call, so edits show without restarting the kernel.
 * (Modules it imports are not reloaded: after editing one of those, restart the kernel.)
 *
 * @module
 */
import { relError } from "../lib/compare.ts";
import { JUPYTER_DISPLAY, type MimeBundle, table } from "../lib/display.ts";
import { type Case, visibleCases } from "./cases.ts";
import { exercise } from "./exercises.ts";
import { asTensor, referenceResults } from "./grader.ts";
import { decode, type ProgramResult, runProgram, type Value } from "./program.ts";

let generation = 0;

/** One line of a check: the case, the worst relative error of its outputs, and whether it passed. */
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

function describe(c: Case, mine: ProgramResult, ref: ProgramResult | undefined): CheckLine {
  if (!ref || !ref.ok) return { name: c.name, passed: false, detail: "no reference output" };
  if (!mine.ok) {
    return { name: c.name, passed: false, detail: `${mine.error.name}: ${mine.error.message}` };
  }
  let worst = 0;
  for (const [out, how] of Object.entries(c.compare)) {
    const m = decode(mine.outputs[out] as Value), r = decode(ref.outputs[out] as Value);
    if (how.kind === "error") {
      const err = (m as { $error?: { name: string } })?.$error;
      if (err?.name !== how.name) {
        return {
          name: c.name,
          passed: false,
          detail: `${out}: should throw a ${how.name}, got ${err ? err.name : JSON.stringify(m)}`,
        };
      }
      continue;
    }
    if (how.kind === "equal") {
      if (JSON.stringify(mine.outputs[out]) !== JSON.stringify(ref.outputs[out])) {
        return {
          name: c.name,
          passed: false,
          detail: `${out}: got ${JSON.stringify(m)}, expected ${JSON.stringify(r)}`,
        };
      }
      continue;
    }
    const a = asTensor(m), b = asTensor(r);
    if (!b) {
      return { name: c.name, passed: false, detail: `${out}: the reference output is not numeric` };
    }
    if (!a || a.shape.join("x") !== b.shape.join("x")) {
      return {
        name: c.name,
        passed: false,
        detail: `${out}: shape ${a?.shape.join("x") ?? "none"}, expected ${b.shape.join("x")}`,
      };
    }
    worst = Math.max(worst, relError(a, b));
  }
  const tol = 1e-8;
  return {
    name: c.name,
    passed: worst <= tol,
    detail: `relative error ${worst.toExponential(1)} (should be below ${tol})`,
  };
}

/**
 * Runs the visible cases of one exercise on this tree's `lib/` and shows how close each output is.
 *
 * @example
 * ```ts
 * import { checkExercise } from "grading/check.ts";
 * import assert from "node:assert/strict";
 * const r = await checkExercise("ex1");
 * assert.equal(r.lines.length, 4);
 * ```
 */
export async function checkExercise(id: string): Promise<CheckResult> {
  const ex = exercise(id);
  const cases = visibleCases().filter((c) => c.exercise === ex.id);
  const lib = new URL("../lib/", import.meta.url);
  let expectedFile = false;
  try {
    await Deno.stat(new URL("expected.json", import.meta.url));
    expectedFile = true;
  } catch { /* the instructor's tree: reference computed live */ }
  const reference = await referenceResults(cases, !expectedFile);
  const g = ++generation;
  const fresh = (p: string) =>
    p === ex.file ? `${new URL(p, lib).href}?check=${g}` : new URL(p, lib).href;
  const lines: CheckLine[] = [];
  for (const c of cases) {
    lines.push(
      describe(c, await runProgram(c.program, (p) => import(fresh(p))), reference.get(c.id)),
    );
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
