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
import type { Job, Recorded } from "./harness.ts";
import { buildTree, closure, exercisesIn, type PrivateTree, recordingLib } from "./isolate.ts";
import { judge } from "./judge.ts";
import {
  callKey,
  encode,
  flatNumbers,
  type Importer,
  type ProgramResult,
  runProgram,
  type Value,
} from "./program.ts";
import { bounded, DEFAULT_LIMITS } from "./limits.ts";
import { libraryImporter } from "./reference.ts";
import { oneLine } from "./report.ts";
import { stripSolutions } from "./release.ts";

const here = new URL(".", import.meta.url);
const HARNESS = new URL("harness.ts", here).pathname;
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

let recording: Promise<string> | undefined;
/**
 * The instructor's lib with every exercise's function recording its calls, built once a process in
 * `build/grader/` of this tree (never in a shared temporary folder: it holds the solutions); copies left
 * by a grader that was killed are removed first.
 */
function recordingDir(): Promise<string> {
  recording ??= (async () => {
    const base = new URL("../build/grader/", here).pathname;
    await Deno.mkdir(base, { recursive: true, mode: 0o700 });
    for await (const e of Deno.readDir(base)) {
      const pid = Number(e.name.match(/^reference-(\d+)$/)?.[1]);
      if (pid && pid !== Deno.pid && !alive(pid)) {
        await Deno.remove(`${base}${e.name}`, { recursive: true }).catch(() => {});
      }
    }
    const dir = `${base}reference-${Deno.pid}`;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await recordingLib(LIB, dir);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
    return dir;
  })();
  return recording;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

type Tables = Record<string, Recorded[]>;
let recorder: { exercise: string; tables: Tables } | undefined;
Object.defineProperty(globalThis, "__convkitRecord", {
  value: (id: string, args: unknown[], run: () => unknown) => {
    const target = recorder;
    const key = target && id !== target.exercise
      ? callKey(args, EXERCISES.find((e) => e.id === id)?.keyArgs)
      : undefined;
    const nums = key ? flatNumbers(args) : [];
    const keep = (r: Omit<Recorded, "key" | "nums">) => {
      if (!key || !target) return;
      const t = target.tables[id] ??= [];
      if (!t.some((x) => x.key === key)) t.push({ key, nums, ...r });
    };
    try {
      const v = run();
      keep({ ok: true, value: encode(v) });
      return v;
    } catch (e) {
      const err = e as Error;
      keep({ ok: false, error: { name: String(err?.name), message: String(err?.message) } });
      throw e;
    }
  },
  configurable: true,
});

function tableKey(exercise: string, hidden: boolean) {
  return `${exercise}${hidden ? "/hidden" : "/visible"}`;
}

let solutionQueue: Promise<unknown> = Promise.resolve();
/**
 * Runs the reference solution on cases, recording what every other exercise returned for them. One run
 * at a time: the recorder is global, and a class is graded several submissions at once.
 */
function solutionRun(cases: Case[]) {
  const run = solutionQueue.then(() => solutionRunNow(cases));
  solutionQueue = run.catch(() => {});
  return run;
}

async function solutionRunNow(cases: Case[]) {
  const dir = await recordingDir();
  const importer: Importer = (p) => import(new URL(p, `file://${dir}/`).href);
  const results = new Map<string, ProgramResult>();
  // one table per exercise and visibility: the visible cases' sandbox never sees what hidden ones call
  const tables = new Map<string, Tables>();
  for (const c of cases) {
    const k = tableKey(c.exercise, c.hidden);
    const t = tables.get(k) ?? {};
    tables.set(k, t);
    recorder = { exercise: c.exercise, tables: t };
    try {
      results.set(c.id, await runProgram(c.program, importer));
    } finally {
      recorder = undefined;
    }
  }
  return { results, tables };
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

/** Reads a stream to its end, keeping at most `max` bytes. */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number, onOver: () => void) {
  const chunks: Uint8Array[] = [];
  let size = 0, over = false;
  for await (const chunk of stream) {
    if (over) continue;
    size += chunk.length;
    if (size > max) {
      over = true;
      onOver();
      continue;
    }
    chunks.push(chunk);
  }
  return {
    text: new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer()),
    over,
  };
}

/** Bytes of a sandbox's standard output read; more, and it is stopped. */
const MAX_OUTPUT = 16 * 2 ** 20;
/** The longest result line parsed (the largest case's outputs are well below). */
const MAX_RESULT_LINE = 4 * 2 ** 20;

/** A result as the trusted side may use it: the shape of `ProgramResult`, strings cut, else an error. */
function sanitize(r: unknown): ProgramResult {
  const x = r as Record<string, unknown> | null;
  const str = (v: unknown, n: number) => String(typeof v === "string" ? v : "").slice(0, n);
  if (
    x && x.ok === true && x.outputs && typeof x.outputs === "object" && !Array.isArray(x.outputs)
  ) {
    return { ok: true, outputs: x.outputs as Record<string, Value> };
  }
  if (x && x.ok === false && x.error && typeof x.error === "object") {
    const e = x.error as Record<string, unknown>;
    return {
      ok: false,
      error: { name: str(e.name, 100) || "Error", message: str(e.message, 2000) },
    };
  }
  return {
    ok: false,
    error: { name: "MalformedResult", message: "the sandbox sent a malformed result" },
  };
}

interface SandboxRun {
  results: Map<string, ProgramResult>;
  timedOut: boolean;
  crashed?: string;
}

/** Runs programs in the sandbox: read the private lib only, write a scratch folder only. */
async function sandbox(
  lib: string,
  exercise: Exercise,
  cases: Case[],
  tables: Tables,
  timeLimitMs: number,
): Promise<SandboxRun> {
  const scratch = await Deno.makeTempDir({ prefix: "convkit_sandbox_" });
  const nonce = crypto.randomUUID();
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const val = Deno.env.get(k);
    if (val) env[k] = val;
  }
  const limits = await bounded(Deno.execPath(), [
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
  ], DEFAULT_LIMITS);
  const child = new Deno.Command(limits.command, {
    args: limits.args,
    cwd: scratch,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeLimitMs);
  const job: Job = {
    nonce,
    lib,
    grading: exercise.id,
    names: Object.fromEntries(EXERCISES.map((e) => [e.id, e.fn])),
    programs: cases.map((c) => ({ id: c.id, program: c.program })),
    tables,
    keyArgs: Object.fromEntries(
      EXERCISES.map((e) => [e.id, e.keyArgs ? [...e.keyArgs] : undefined]),
    ),
  };
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(job))).catch(() => {});
  await writer.close().catch(() => {});
  const [out, err] = await Promise.all([
    readCapped(child.stdout, MAX_OUTPUT, kill),
    readCapped(child.stderr, 2 ** 20, () => {}),
  ]);
  const status = await child.status;
  clearTimeout(timer);
  const { outOfMemory } = await limits.done();
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  const results = new Map<string, ProgramResult>();
  const prefix = `@@result ${nonce} `;
  for (const line of out.text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    if (line.length > MAX_RESULT_LINE) continue; // no case's outputs are this large: not parsed
    try {
      const { id, result } = JSON.parse(line.slice(prefix.length));
      if (cases.some((c) => c.id === id) && !results.has(id)) results.set(id, sanitize(result));
    } catch { /* a broken line counts as no result */ }
  }
  const crashed = !timedOut && (out.over || (!status.success && results.size < cases.length))
    ? out.over
      ? `it printed more than ${MAX_OUTPUT / 2 ** 20} MiB`
      : outOfMemory
      ? `it used more than its ${DEFAULT_LIMITS.memoryBytes / 2 ** 30} GiB of memory`
      : status.signal === "SIGXCPU" || status.code === 128 + 24
      ? `it used more than its ${DEFAULT_LIMITS.cpuSeconds} s of CPU time`
      : status.signal === "SIGXFSZ" || status.code === 128 + 25
      ? `it wrote a file larger than ${DEFAULT_LIMITS.fileBytes / 2 ** 20} MiB`
      : err.text.split("\n").filter((l) => l.trim()).slice(-3).join(" ").slice(0, 500) ||
        `exit code ${status.code}`
    : undefined;
  return { results, timedOut, crashed };
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
    let tree: PrivateTree | undefined, timedOut = false, crashed: string | undefined;
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
          timedOut ||= run.timedOut;
          crashed ??= run.crashed;
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    let hiddenNo = 0;
    const results: CaseResult[] = cases.map((c) => {
      const mine = runs.get(c.id);
      const ref = c.hidden ? solution?.results.get(c.id) : library.get(c.id);
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
      if (wasDenied) {
        denied.push(c.hidden ? `${ex.id}: a hidden case was denied` : `${ex.id}: ${message}`);
      }
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
      timedOut,
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
