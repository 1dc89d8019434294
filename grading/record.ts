/**
 * The reference solution's answers, recorded: the instructor's `lib/` copied into `build/grader/` with
 * every exercise's function wrapped (`recordingLib` in `isolate.ts`), run on the cases of a grading, and
 * every call of another exercise's function kept with its arguments and result. The sandbox replays them
 * (`harness.ts`) in place of those exercises, so each exercise is graded on its own code.
 *
 * @module
 */
import type { Case } from "./cases.ts";
import { EXERCISES } from "./exercises.ts";
import type { Recorded } from "./harness.ts";
import { recordingLib } from "./isolate.ts";
import {
  callKey,
  encode,
  flatNumbers,
  type Importer,
  type ProgramResult,
  runProgram,
} from "./program.ts";

const here = new URL(".", import.meta.url);
const LIB = new URL("../lib/", here).pathname.replace(/\/$/, "");

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

/** Recorded calls, by the exercise they stand in for. */
export type Tables = Record<string, Recorded[]>;
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

/** The tables of one exercise's visible or hidden cases: the two never share a sandbox. */
export function tableKey(exercise: string, hidden: boolean): string {
  return `${exercise}${hidden ? "/hidden" : "/visible"}`;
}

let solutionQueue: Promise<unknown> = Promise.resolve();
/**
 * Runs the reference solution on cases, recording what every other exercise returned for them. One run
 * at a time: the recorder is global, and a class is graded several submissions at once.
 */
export function solutionRun(
  cases: Case[],
): Promise<{ results: Map<string, ProgramResult>; tables: Map<string, Tables> }> {
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
