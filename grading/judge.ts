/**
 * Judging one case: a student's result against the reference, with feedback that says where and what
 * kind of mistake it looks like (`diagnose.ts`). Shared by the grader and the notebook's check cells.
 *
 * Visible cases are compared with the library's float32 ops: an element passes when its difference is
 * below `FLOAT32_TOL` of its size (sizes below 1% of the output's RMS count as that 1%). Hidden cases are
 * compared with the float64 reference solution: relative error below `FLOAT64_TOL`.
 *
 * @module
 */
import { float32Error, relError } from "../lib/compare.ts";
import type { Case, Compare } from "./cases.ts";
import { diagnose, formatDiagnosis } from "./diagnose.ts";
import { EXERCISES } from "./exercises.ts";
import { decode, type ProgramResult, type Value } from "./program.ts";

/** Tolerance against a float32 reference (the library's tfjs ops). */
export const FLOAT32_TOL = 1e-4;
/** Tolerance against the float64 reference solution. */
export const FLOAT64_TOL = 1e-8;

/** A number, a Float64Array or a tensor as `{ data, shape }`; undefined for anything else. */
export function asTensor(x: unknown): { data: ArrayLike<number>; shape: number[] } | undefined {
  if (typeof x === "number") return { data: [x], shape: [1] };
  if (x instanceof Float64Array) return { data: x, shape: [x.length] };
  const t = x as { data?: unknown; shape?: unknown };
  if (
    t && typeof t === "object" && (t.data instanceof Float64Array || Array.isArray(t.data)) &&
    Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    return { data: t.data as ArrayLike<number>, shape: t.shape as number[] };
  }
  return undefined;
}

function closeEnough(out: string, mine: unknown, ref: unknown, float32: boolean) {
  const a = asTensor(mine), b = asTensor(ref);
  if (!b) return "the reference output is not numeric";
  if (!a) {
    return `expected numbers (a tensor { data, shape }), got ${
      mine === undefined || mine === null ? "nothing" : typeof mine
    }`;
  }
  const tol = float32 ? FLOAT32_TOL : FLOAT64_TOL;
  if (a.shape.join("x") === b.shape.join("x") && a.data.length === b.data.length) {
    const e = float32 ? float32Error(a.data, b.data) : relError(a, b);
    if (e <= tol) return undefined;
  }
  const layout = out.endsWith("dw") || out.endsWith("W1") ? "HWCK" : undefined;
  return formatDiagnosis(diagnose(a, b, { tol, name: out, ...(layout ? { layout } : {}) }));
}

function equalEnough(mine: unknown, ref: unknown, path = ""): string | undefined {
  if (
    ref !== null && typeof ref === "object" && !(ref instanceof Float64Array) &&
    !(ref instanceof Int32Array)
  ) {
    if (mine === null || typeof mine !== "object") return `${path || "result"}: expected an object`;
    for (const [k, v] of Object.entries(ref)) {
      const m = equalEnough((mine as Record<string, unknown>)[k], v, path ? `${path}.${k}` : k);
      if (m) return m;
    }
    return undefined;
  }
  const flat = (x: unknown) => x instanceof Float64Array || x instanceof Int32Array ? [...x] : x;
  const show = (x: unknown) => String(JSON.stringify(flat(x))).slice(0, 200);
  return JSON.stringify(flat(mine)) === JSON.stringify(flat(ref))
    ? undefined
    : `${path || "result"}: returned ${show(mine)}, expected ${show(ref)}`;
}

/** What the error of a stub means for exercise `exercise`: its own TODO, or one it uses. */
export function stubMessage(exercise: string, message: string): string {
  const id = message.match(/Exercise (\S+)/)?.[1] ?? exercise;
  const ex = EXERCISES.find((e) => e.id === id);
  if (id === exercise) {
    return `not written yet: replace the throw under "TODO ${id}" in lib/${ex?.file ?? "?"}`;
  }
  return `uses ${id}${ex ? ` (${ex.fn})` : ""}, which is not written yet: write ${id} first` +
    ` (the final grade grades ${exercise} with ${id} replaced by right values)`;
}

/** The verdict on one case. */
export interface Verdict {
  passed: boolean;
  /** What went wrong, for a student. */
  message?: string;
  /** "stub": not written; "error": it threw; "wrong": a wrong output. */
  kind?: "stub" | "error" | "wrong";
}

/**
 * Compares one case's result with the reference. Visible cases against the library (float32), hidden
 * against the reference solution (float64).
 */
export function judge(
  c: Case,
  mine: ProgramResult | undefined,
  ref: ProgramResult | undefined,
): Verdict {
  if (!ref || !ref.ok) {
    return {
      passed: false,
      kind: "error",
      message: `no reference output for this case (${
        ref && !ref.ok ? ref.error.message : "missing"
      }): tell your instructor`,
    };
  }
  if (!mine) return { passed: false, kind: "error", message: "no result" };
  if (!mine.ok) {
    if (mine.error.name === "NotImplementedError") {
      return { passed: false, kind: "stub", message: stubMessage(c.exercise, mine.error.message) };
    }
    // a module that does not load arrives as "TypeError: SyntaxError: ..." from the import
    const text = `${mine.error.name}: ${mine.error.message}`.replace(
      /^TypeError: (SyntaxError: )/,
      "$1",
    );
    return { passed: false, kind: "error", message: text };
  }
  for (const [out, how] of Object.entries(c.compare) as [string, Compare][]) {
    const m = decode(mine.outputs[out] as Value), r = decode(ref.outputs[out] as Value);
    const err = (m as { $error?: { name: string; message: string } })?.$error;
    let problem: string | undefined;
    if (err?.name === "NotImplementedError") {
      return { passed: false, kind: "stub", message: stubMessage(c.exercise, err.message) };
    }
    if (how.kind === "error") {
      problem = err?.name === how.name
        ? undefined
        : err
        ? `threw ${err.name} (${err.message}), expected a ${how.name}`
        : `returned ${JSON.stringify(m)}, expected a ${how.name}`;
    } else if (err) {
      problem = `${err.name}: ${err.message}`;
    } else if (how.kind === "close") problem = closeEnough(out, m, r, !c.hidden);
    else problem = equalEnough(m, r);
    if (problem) {
      // a layer's output size comes from its shape checks, which call the student's ex1
      const hint = c.exercise !== "ex1" && /output-size arithmetic|does not fit/.test(problem)
        ? " (the layers' shape checks call your convOutputSize, ex1 in lib/shape.ts: check it first)"
        : "";
      return {
        passed: false,
        kind: "wrong",
        message: (problem.startsWith(`${out}:`) ? problem : `${out}: ${problem}`) + hint,
      };
    }
  }
  return { passed: true };
}
