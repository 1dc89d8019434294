/**
 * The trusted side of grading. For each exercise it builds a private copy of the `lib/` files the
 * exercise's cases load (`isolate.ts`), starts the sandbox (`harness.ts`) on it with the least Deno
 * permissions and a time limit (visible and hidden cases in separate processes), and judges what comes
 * back (`judge.ts`): visible cases, drawn afresh at each run, against the library's ops
 * (`reference.ts`); hidden cases, in the instructor's tree only, against the reference solution.
 *
 * In the instructor's tree every other exercise's code is replaced, for the grader's inputs, by the right
 * values the reference solution returned (recorded here), so each exercise is graded on its own code.
 *
 * @module
 */
import { type Case, HIDDEN_SHARE, visibleCases } from "./cases.ts";
import { type Exercise, EXERCISES } from "./exercises.ts";
import { buildTree, closure, exercisesIn, type PrivateTree } from "./isolate.ts";
import { judge } from "./judge.ts";
import { type ProgramResult, runProgram } from "./program.ts";
import { solutionRun, tableKey } from "./record.ts";
import { libraryImporter } from "./reference.ts";
import { stripSolutions } from "./release.ts";
import { oneLine } from "./report.ts";
import { sandbox } from "./sandbox.ts";

const here = new URL(".", import.meta.url);
const LIB = new URL("../lib/", here).pathname.replace(/\/$/, "");

/** A submission that cannot be graded at all (no `lib/` folder, or a link in its place). */
export class GradeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GradeError";
  }
}

/** The result of one case. */
export interface CaseResult {
  id: string;
  /** For hidden cases only "hidden case N (kind)": their content stays with the instructor. */
  name: string;
  hidden: boolean;
  passed: boolean;
  /** What went wrong; for hidden cases only the kind ("wrong output", "error", "timed out", ...). */
  message?: string;
  /** True when the student's code tried something the sandbox does not allow. */
  denied?: boolean;
  /** What the case is worth: its share of the exercise's points. */
  maxPoints: number;
}

/** The result of one exercise. */
export interface ExerciseResult {
  id: string;
  title: string;
  points: number;
  maxPoints: number;
  cases: CaseResult[];
  timedOut: boolean;
  seconds: number;
  /** Lines for the report: where a failure's cause lies in another exercise, markers not found. */
  notes: string[];
}

/** A grading report. */
export interface Report {
  submission: string;
  student: string;
  /** "instructor": visible and hidden cases; "self": visible cases only (a student edition). */
  mode: "instructor" | "self";
  points: number;
  maxPoints: number;
  exercises: ExerciseResult[];
  /** Messages of every attempt the sandbox refused (visible cases), and a count for hidden ones. */
  denied: string[];
}

/** Options of `gradeSubmission`. */
export interface GradeOptions {
  /** Folder with the submission's `lib/`. */
  submission: string;
  /** Student id (default: `student.json`'s `id` in the submission, else "anonymous"). */
  student?: string;
  /** Per-exercise limit in milliseconds (default: each exercise's, else 30 s). */
  timeLimitMs?: number;
  /** Only these exercises. */
  only?: string[];
  /** Seed of the visible cases (default: a fresh one). */
  seed?: string;
}

async function loadHidden(): Promise<((student: string) => Case[]) | undefined> {
  try {
    await Deno.stat(new URL("hidden/cases.ts", here));
  } catch {
    return undefined;
  }
  const mod = await import(new URL("hidden/cases.ts", here).href);
  return mod.hiddenCases;
}

/** The released text of every `lib/` file (relative to `lib/`): stubs in place of solutions. */
export async function releasedTexts(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let stubs: Record<string, string> = {};
  try {
    stubs = JSON.parse(await Deno.readTextFile(new URL("stubs.json", here)));
  } catch { /* the instructor's tree: strip the solutions here */ }
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${LIB}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && path.endsWith(".ts")) {
        const text = stubs[`lib/${path}`] ?? await Deno.readTextFile(`${LIB}/${path}`);
        out.set(path, stubs[`lib/${path}`] ? text : stripSolutions(text, `lib/${path}`).text);
      }
    }
  };
  await walk("");
  return out;
}

/** Module paths a case's program calls into. */
function entries(cases: Case[]): string[] {
  return [...new Set(cases.flatMap((c) => c.program.steps.map((s) => s.call.split("#")[0])))];
}

async function studentId(submission: string, given?: string): Promise<string> {
  if (given) return given;
  try {
    const st = await Deno.lstat(`${submission}/student.json`);
    if (!st.isFile || st.size > 4096) return "anonymous";
    const j = JSON.parse(await Deno.readTextFile(`${submission}/student.json`));
    if (typeof j.id === "string" && j.id.trim()) return j.id.trim().slice(0, 100);
  } catch { /* no student.json */ }
  return "anonymous";
}

function isDenial(e: { name: string; message: string }): boolean {
  return e.name === "NotCapable" || e.name === "PermissionDenied" ||
    /Requires \w+ access|--no-remote|--no-npm/.test(e.message);
}

/** Replaces the private folder's path in a message with `lib`, so no grader path reaches feedback. */
function clean(message: string, dir: string): string {
  const root = new URL("..", here);
  return oneLine(
    message.slice(0, 4000).replaceAll(`file://${dir}`, "lib").replaceAll(dir, "lib")
      .replaceAll(root.href, "<grader>/").replaceAll(root.pathname, "<grader>/"),
  ).slice(0, 2000);
}

/**
 * Grades one submission: every exercise on its own, with partial credit from the cases passed (hidden
 * cases carry `HIDDEN_SHARE` of each exercise's points in the instructor's tree).
 */
export async function gradeSubmission(opts: GradeOptions): Promise<Report> {
  const submission = await Deno.realPath(opts.submission);
  const lib = `${submission}/lib`;
  const libInfo = await Deno.lstat(lib).catch(() => undefined);
  if (!libInfo?.isDirectory) {
    throw new GradeError(
      libInfo?.isSymlink
        ? "lib/ is a symbolic link: submit the folder itself"
        : "the submission has no lib/ folder",
    );
  }
  const student = await studentId(submission, opts.student);
  const hidden = await loadHidden();
  const all = [...visibleCases(opts.seed), ...(hidden ? hidden(student) : [])];
  const wanted = EXERCISES.filter((e) => !opts.only || opts.only.includes(e.id));
  const graded = all.filter((c) => wanted.some((e) => e.id === c.exercise));
  const library = new Map<string, ProgramResult>();
  for (const c of graded.filter((c) => !c.hidden)) {
    library.set(c.id, await runProgram(c.program, libraryImporter));
  }
  const solution = hidden ? await solutionRun(graded) : undefined;
  const released = await releasedTexts();
  const exercises: ExerciseResult[] = [];
  const denied: string[] = [];
  for (const ex of wanted) {
    const cases = graded.filter((c) => c.exercise === ex.id);
    const t0 = performance.now();
    const limit = opts.timeLimitMs ?? ex.timeLimitMs ?? 30_000;
    const dir = await Deno.makeTempDir({ prefix: "convkit_grade_" });
    const runs = new Map<string, ProgramResult>();
    let tree: PrivateTree | undefined;
    // what went wrong, per run: the hidden run's stderr or timing must never reach a visible message
    const ran = {
      visible: { timedOut: false, crashed: undefined as string | undefined },
      hidden: { timedOut: false, crashed: undefined as string | undefined },
    };
    try {
      tree = await buildTree({
        exercise: ex,
        entries: entries(cases),
        released,
        studentLib: lib,
        replay: solution !== undefined,
        dir,
      });
      if (!tree.problem) {
        for (const part of [cases.filter((c) => !c.hidden), cases.filter((c) => c.hidden)]) {
          if (!part.length) continue;
          const tables = solution?.tables.get(tableKey(ex.id, part[0].hidden)) ?? {};
          const run = await sandbox(dir, ex, part, tables, limit);
          run.results.forEach((r, id) => runs.set(id, r));
          ran[part[0].hidden ? "hidden" : "visible"] = {
            timedOut: run.timedOut,
            crashed: run.crashed,
          };
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    let hiddenNo = 0;
    const results: CaseResult[] = cases.map((c) => {
      const mine = runs.get(c.id);
      const ref = c.hidden ? solution?.results.get(c.id) : library.get(c.id);
      const { timedOut, crashed } = ran[c.hidden ? "hidden" : "visible"];
      const verdict = tree?.problem
        ? { passed: false, message: tree.problem, kind: "error" as const }
        : mine
        ? safeJudge(c, mine, ref)
        : {
          passed: false,
          message: timedOut
            ? `timed out: the exercise ran past its ${(limit / 1000).toFixed(0)} s limit`
            : `no result: ${crashed ?? "the sandbox stopped"}`,
        };
      let message = verdict.message && clean(verdict.message, dir);
      const wasDenied = !!mine && !mine.ok && isDenial(mine.error);
      // hidden cases are listed nowhere else: which of them were refused would tell about their inputs
      if (wasDenied && !c.hidden) denied.push(`${ex.id}: ${message}`);
      if (c.hidden && message) {
        message = verdict.kind === "stub"
          ? "not written yet"
          : !mine
          ? (timedOut ? "timed out" : tree?.problem ? "not run (see above)" : "no result")
          : wasDenied
          ? "permission denied"
          : !mine.ok
          ? "error"
          : "wrong output";
      }
      return {
        id: c.id,
        name: c.hidden ? `hidden case ${++hiddenNo} (${c.kind})` : c.name,
        hidden: c.hidden,
        passed: verdict.passed,
        ...(message ? { message } : {}),
        ...(wasDenied ? { denied: true } : {}),
        maxPoints: 0,
      };
    });
    const weights = caseWeights(ex, results);
    results.forEach((r, i) => r.maxPoints = weights[i]);
    exercises.push({
      id: ex.id,
      title: ex.title,
      points: score(ex, results),
      maxPoints: ex.points,
      cases: results,
      timedOut: ran.visible.timedOut || ran.hidden.timedOut,
      seconds: (performance.now() - t0) / 1000,
      notes: [
        ...(tree?.ownMarkers === false
          ? [
            `the lines "// BEGIN EXERCISE ${ex.id}" and "// END EXERCISE ${ex.id}" are missing in lib/${ex.file}: ` +
            "put them back around your code (your final grade finds your work between them)",
          ]
          : []),
        ...(tree?.unreplaced ?? []).map((id) =>
          `the markers of ${id} (// BEGIN EXERCISE ${id} ... // END EXERCISE ${id}) are missing in lib/${ex.file}: ` +
          `put them back, so that ${ex.id} is graded without ${id}'s code`
        ),
      ],
    });
  }
  if (!hidden) attribute(exercises, released);
  const points = Math.round(exercises.reduce((s, e) => s + e.points, 0) * 100) / 100;
  return {
    submission,
    student,
    mode: hidden ? "instructor" : "self",
    points,
    maxPoints: exercises.reduce((s, e) => s + e.maxPoints, 0),
    exercises,
    denied,
  };
}

/** `judge`, where anything malformed in the sandbox's result fails this case only. */
function safeJudge(c: Case, mine: ProgramResult, ref: ProgramResult | undefined) {
  try {
    if (!mine || typeof mine !== "object" || typeof mine.ok !== "boolean") {
      return { passed: false, message: "malformed result from the sandbox" };
    }
    return judge(c, mine, ref);
  } catch (e) {
    return {
      passed: false,
      message: `malformed result from the sandbox (${String((e as Error)?.name ?? e)})`,
    };
  }
}

/** What each case is worth: visible and hidden cases share the exercise's points (`HIDDEN_SHARE`). */
export function caseWeights(ex: Exercise, results: readonly { hidden: boolean }[]): number[] {
  const vis = results.filter((r) => !r.hidden).length, hid = results.length - vis;
  const share = hid && vis ? HIDDEN_SHARE : hid ? 1 : 0;
  return results.map((r) => r.hidden ? ex.points * share / hid : ex.points * (1 - share) / vis);
}

/** Points of one exercise: the worth of the cases passed, to a hundredth. */
export function score(ex: Exercise, results: readonly CaseResult[]): number {
  const w = caseWeights(ex, results);
  return Math.round(results.reduce((a, r, i) => a + (r.passed ? w[i] : 0), 0) * 100) / 100;
}

/**
 * Self-grading uses the student's own code for every exercise: where an exercise fails and one it uses
 * (its file is in the exercise's module closure) fails too, say so.
 */
function attribute(exercises: ExerciseResult[], released: ReadonlyMap<string, string>) {
  for (const r of exercises) {
    if (r.cases.every((c) => c.passed)) continue;
    const ex = EXERCISES.find((e) => e.id === r.id)!;
    const files = closure([ex.file], (p) => released.get(p));
    // exercises in the same file fail together for the same reason (a file that does not load)
    const uses = files.flatMap(exercisesIn).filter((e) => e.file !== ex.file);
    for (const u of uses) {
      const ur = exercises.find((x) => x.id === u.id);
      if (ur && ur.cases.some((c) => !c.passed && !/not written yet/.test(c.message ?? ""))) {
        r.notes.push(
          `${r.id} uses ${u.id} (${u.fn}), which fails its own checks: fix ${u.id} first ` +
            `(your final grade grades ${r.id} with ${u.id} replaced by right values)`,
        );
      }
    }
  }
}
