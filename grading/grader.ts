/**
 * The trusted side of grading. For each exercise it starts the sandbox (harness.ts) on the submission
 * with the least Deno permissions and a time limit, sends it the cases' programs, and compares what comes
 * back with the reference solution's outputs: computed live from this tree's `lib/` when the hidden cases
 * are here (the instructor's tree), else read from `grading/expected.json` (a student edition, visible
 * cases only).
 *
 * @module
 */
import { relError } from "../lib/compare.ts";
import { type Case, type Compare, visibleCases } from "./cases.ts";
import { EXERCISES } from "./exercises.ts";
import { decode, type ProgramResult, runProgram, type Value } from "./program.ts";

const here = new URL(".", import.meta.url);
const HARNESS = new URL("harness.ts", here).pathname;
const EXPECTED = new URL("expected.json", here).pathname;

/** The result of one case. */
export interface CaseResult {
  id: string;
  /** For hidden cases only "hidden case N": their content stays with the instructor. */
  name: string;
  hidden: boolean;
  passed: boolean;
  /** What went wrong; for hidden cases only the kind ("wrong output", "error", "timed out", "permission denied"). */
  message?: string;
  /** True when the student's code tried something the sandbox does not allow. */
  denied?: boolean;
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
}

/** A grading report. */
export interface Report {
  submission: string;
  student: string;
  /** "instructor": visible and hidden cases against the live reference; "self": visible cases only. */
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

/** Reference outputs of the cases, from this tree's lib (instructor) or expected.json (student edition). */
export async function referenceResults(
  cases: Case[],
  live: boolean,
): Promise<Map<string, ProgramResult>> {
  const out = new Map<string, ProgramResult>();
  if (live) {
    const lib = new URL("../lib/", here);
    for (const c of cases) {
      out.set(
        c.id,
        await runProgram(c.program, (p) => import(new URL(p, lib).href)),
      );
    }
    return out;
  }
  const saved: Record<string, ProgramResult> = JSON.parse(await Deno.readTextFile(EXPECTED));
  for (const c of cases) if (saved[c.id]) out.set(c.id, saved[c.id]);
  return out;
}

async function studentId(submission: string, given?: string): Promise<string> {
  if (given) return given;
  try {
    const j = JSON.parse(await Deno.readTextFile(`${submission}/student.json`));
    if (typeof j.id === "string" && j.id.trim()) return j.id.trim();
  } catch { /* no student.json */ }
  return "anonymous";
}

function isDenial(e: { name: string; message: string }): boolean {
  return e.name === "NotCapable" || e.name === "PermissionDenied" ||
    /Requires \w+ access|--no-remote|--no-npm/.test(e.message);
}

interface SandboxRun {
  results: Map<string, ProgramResult>;
  timedOut: boolean;
  crashed?: string;
}

/** Runs programs in the sandbox: read the submission's lib only, write a scratch folder only. */
async function sandbox(lib: string, cases: Case[], timeLimitMs: number): Promise<SandboxRun> {
  const scratch = await Deno.makeTempDir({ prefix: "convkit_sandbox_" });
  const nonce = crypto.randomUUID();
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const val = Deno.env.get(k);
    if (val) env[k] = val;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      `--allow-read=${lib}`,
      `--allow-write=${scratch}`,
      "--v8-flags=--max-old-space-size=1024",
      HARNESS,
    ],
    cwd: scratch,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeLimitMs);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({
    nonce,
    lib,
    programs: cases.map((c) => ({ id: c.id, program: c.program })),
  })));
  await writer.close().catch(() => {});
  // read at most 64 MiB of output; a submission printing more is cut off
  const chunks: Uint8Array[] = [];
  let size = 0;
  const errText = new Response(child.stderr).text();
  for await (const chunk of child.stdout) {
    size += chunk.length;
    if (size > 64 * 2 ** 20) {
      child.kill("SIGKILL");
      break;
    }
    chunks.push(chunk);
  }
  const status = await child.status;
  clearTimeout(timer);
  const stderr = await errText.catch(() => "");
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  const results = new Map<string, ProgramResult>();
  const prefix = `@@result ${nonce} `;
  for (
    const line of new TextDecoder().decode(
      await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer(),
    ).split("\n")
  ) {
    if (!line.startsWith(prefix)) continue;
    try {
      const { id, result } = JSON.parse(line.slice(prefix.length));
      results.set(id, result);
    } catch { /* a broken line counts as no result */ }
  }
  const crashed = !timedOut && !status.success && results.size < cases.length
    ? stderr.split("\n").filter((l) => l.trim()).slice(-3).join(" ").slice(0, 500) ||
      `exit code ${status.code}`
    : undefined;
  return { results, timedOut, crashed };
}

/** A number, a Float64Array or a tensor as `{ data, shape }`; undefined for anything else. */
export function asTensor(x: unknown): { data: ArrayLike<number>; shape: number[] } | undefined {
  if (typeof x === "number") return { data: [x], shape: [1] };
  if (x instanceof Float64Array) return { data: x, shape: [x.length] };
  const t = x as { data?: unknown; shape?: unknown };
  if (t && (t.data instanceof Float64Array || Array.isArray(t.data)) && Array.isArray(t.shape)) {
    return { data: t.data as ArrayLike<number>, shape: t.shape as number[] };
  }
  return undefined;
}

function closeEnough(mine: unknown, ref: unknown, tol: number): string | undefined {
  const a = asTensor(mine), b = asTensor(ref);
  if (!b) return "the reference output is not numeric";
  if (!a) return `expected numbers, got ${mine === undefined ? "nothing" : typeof mine}`;
  if (a.shape.join("x") !== b.shape.join("x")) {
    return `shape ${a.shape.join("x")}, expected ${b.shape.join("x")}`;
  }
  const e = relError(a, b);
  return e <= tol ? undefined : `relative error ${e.toExponential(2)} (should be below ${tol})`;
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
  return JSON.stringify(flat(mine)) === JSON.stringify(flat(ref))
    ? undefined
    : `${path || "result"}: got ${JSON.stringify(flat(mine))}, expected ${
      JSON.stringify(flat(ref))
    }`;
}

/** Compares one case's sandbox result with the reference; returns a message when it fails. */
export function judge(
  c: Case,
  mine: ProgramResult | undefined,
  ref: ProgramResult | undefined,
): string | undefined {
  if (!ref || !ref.ok) {
    return `no reference output for this case (${ref && !ref.ok ? ref.error.message : "missing"})`;
  }
  if (!mine) return "no result";
  if (!mine.ok) return `${mine.error.name}: ${mine.error.message}`;
  for (const [out, how] of Object.entries(c.compare) as [string, Compare][]) {
    const m = decode(mine.outputs[out] as Value), r = decode(ref.outputs[out] as Value);
    let problem: string | undefined;
    if (how.kind === "error") {
      const err = (m as { $error?: { name: string } })?.$error;
      problem = err?.name === how.name
        ? undefined
        : err
        ? `threw ${err.name}, expected ${how.name}`
        : `returned ${JSON.stringify(m)}, expected a ${how.name}`;
    } else if ((m as { $error?: unknown })?.$error) {
      const err = (m as { $error: { name: string; message: string } }).$error;
      problem = `${err.name}: ${err.message}`;
    } else if (how.kind === "close") problem = closeEnough(m, r, how.tol ?? 1e-8);
    else problem = equalEnough(m, r);
    if (problem) return `${out}: ${problem}`;
  }
  return undefined;
}

/**
 * Grades one submission: every exercise in its own sandbox, with partial credit from the cases passed.
 */
export async function gradeSubmission(opts: GradeOptions): Promise<Report> {
  const submission = await Deno.realPath(opts.submission);
  const lib = `${submission}/lib`;
  const student = await studentId(submission, opts.student);
  const hidden = await loadHidden();
  const all = [...visibleCases(), ...(hidden ? hidden(student) : [])];
  const reference = await referenceResults(all, hidden !== undefined);
  const exercises: ExerciseResult[] = [];
  const denied: string[] = [];
  for (const ex of EXERCISES) {
    if (opts.only && !opts.only.includes(ex.id)) continue;
    const cases = all.filter((c) => c.exercise === ex.id);
    const t0 = performance.now();
    const limit = opts.timeLimitMs ?? ex.timeLimitMs ?? 30_000;
    const run = await sandbox(lib, cases, limit);
    let hiddenNo = 0;
    const results: CaseResult[] = cases.map((c) => {
      const mine = run.results.get(c.id);
      let message = mine
        ? judge(c, mine, reference.get(c.id))
        : run.timedOut
        ? `timed out: the exercise ran past its ${(limit / 1000).toFixed(0)} s limit`
        : `no result: ${run.crashed ?? "the sandbox stopped"}`;
      const wasDenied = !!mine && !mine.ok && isDenial(mine.error);
      if (wasDenied) {
        denied.push(c.hidden ? `${ex.id}: a hidden case was denied` : `${ex.id}: ${message}`);
      }
      if (c.hidden && message) {
        message = !mine
          ? (run.timedOut ? "timed out" : "no result")
          : wasDenied
          ? "permission denied"
          : !mine.ok
          ? "error"
          : "wrong output";
      }
      return {
        id: c.id,
        name: c.hidden ? `hidden case ${++hiddenNo}` : c.name,
        hidden: c.hidden,
        passed: !message,
        ...(message ? { message } : {}),
        ...(wasDenied ? { denied: true } : {}),
      };
    });
    const passed = results.filter((r) => r.passed).length;
    exercises.push({
      id: ex.id,
      title: ex.title,
      points: Math.round((ex.points * passed / Math.max(1, results.length)) * 100) / 100,
      maxPoints: ex.points,
      cases: results,
      timedOut: run.timedOut,
      seconds: (performance.now() - t0) / 1000,
    });
  }
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
