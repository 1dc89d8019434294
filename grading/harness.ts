/**
 * The grading sandbox's entry point. The trusted grader starts it with the least permissions (read the
 * private copy of `lib/` it built for one exercise, write a scratch folder only, no network, no processes,
 * no environment) and sends on standard input: a nonce, the path of that `lib/`, the programs of one
 * exercise, and the recorded right values that stand in for the other exercises (see `isolate.ts`). It
 * prints each result on one line `@@result <nonce> <json>`; the nonce, read before any student code runs,
 * keeps student output from passing for a result.
 *
 * @module
 */
import { callKey, decode, flatNumbers, type Program, runProgram, type Value } from "./program.ts";

/** One recorded call of an exercise's function, as the reference answered it. */
export interface Recorded {
  key: string;
  /** The arguments' numbers, to match a call that differs only by rounding. */
  nums: number[];
  ok: boolean;
  value?: Value;
  error?: { name: string; message: string };
}

/** What the trusted grader sends. */
export interface Job {
  nonce: string;
  lib: string;
  /** The exercise being graded, and the function names of the others, for messages. */
  grading: string;
  names: Record<string, string>;
  programs: { id: string; program: Program }[];
  tables: Record<string, Recorded[]>;
  keyArgs: Record<string, number[] | undefined>;
}

// a promise the student's code forgot to await must not end the sandbox (and the other cases with it)
globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());

const input = await new Response(Deno.stdin.readable).text();
const job: Job = JSON.parse(input);
const encoder = new TextEncoder();
// each result starts a line of its own, whatever the student's code printed before it without a newline
const write = (line: string) => Deno.stdout.writeSync(encoder.encode("\n" + line + "\n"));
const { nonce, grading } = job;

function close(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]), s = Math.abs(a[i]) + Math.abs(b[i]);
    if (!(d <= 1e-9 * s + 1e-300) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}

Object.defineProperty(globalThis, "__convkitReplay", {
  value: (id: string, args: unknown[]) => {
    const table = job.tables[id] ?? [];
    const key = callKey(args, job.keyArgs[id]);
    let hit = table.find((r) => r.key === key);
    if (!hit) {
      const nums = flatNumbers(job.keyArgs[id] ? job.keyArgs[id]!.map((i) => args[i]) : args);
      hit = table.find((r) => close(r.nums, nums));
    }
    const fn = job.names[id] ?? id;
    if (!hit) {
      throw Object.assign(
        new Error(
          `${fn} (${id}) was called with arguments that ${grading}'s cases never give it: while ${grading} ` +
            `is graded, ${id} is replaced by the right values for the calls the reference makes, so ${grading} ` +
            `may use ${fn} only as the reference does (or not at all)`,
        ),
        { name: "ReplayError" },
      );
    }
    if (!hit.ok) throw Object.assign(new Error(hit.error!.message), { name: hit.error!.name });
    return decode(hit.value!);
  },
  writable: false,
  configurable: false,
});

const base = new URL(`file://${job.lib.endsWith("/") ? job.lib : job.lib + "/"}`);
const importer = (path: string) => import(new URL(path, base).href);
for (const { id, program } of job.programs) {
  const result = await runProgram(program, importer);
  write(`@@result ${nonce} ${JSON.stringify({ id, result })}`);
}
write(`@@done ${nonce}`);
