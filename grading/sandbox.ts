/**
 * One sandboxed run: the grading harness (`harness.ts`) in a Deno process that may read only the private
 * `lib/` built for one exercise and write only a scratch folder, under the operating system's limits
 * (`limits.ts`) and a wall-time limit; its output read up to a bound and parsed defensively.
 *
 * @module
 */
import type { Case } from "./cases.ts";
import { type Exercise, EXERCISES } from "./exercises.ts";
import type { Job } from "./harness.ts";
import { bounded, DEFAULT_LIMITS } from "./limits.ts";
import type { ProgramResult, Value } from "./program.ts";
import type { Tables } from "./record.ts";

const HARNESS = new URL("harness.ts", import.meta.url).pathname;

let swept = false;
/**
 * Removes the scratch and private folders a killed grader left in the temporary folder: those over two
 * hours old (no exercise runs that long), once a process.
 */
async function sweepStale() {
  if (swept) return;
  swept = true;
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  try {
    for await (const e of Deno.readDir(tmp)) {
      if (!/^convkit_(sandbox|grade)_/.test(e.name)) continue;
      const st = await Deno.lstat(`${tmp}/${e.name}`).catch(() => undefined);
      if (st?.isDirectory && st.mtime && Date.now() - st.mtime.getTime() > 2 * 3600_000) {
        await Deno.remove(`${tmp}/${e.name}`, { recursive: true }).catch(() => {});
      }
    }
  } catch { /* not readable */ }
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

/** What a sandboxed run gave: the results it sent, and whether it ran out of time or crashed. */
export interface SandboxRun {
  results: Map<string, ProgramResult>;
  timedOut: boolean;
  crashed?: string;
}

/** Runs programs in the sandbox: read the private lib only, write a scratch folder only. */
export async function sandbox(
  lib: string,
  exercise: Exercise,
  cases: Case[],
  tables: Tables,
  timeLimitMs: number,
): Promise<SandboxRun> {
  await sweepStale();
  const scratch = await Deno.makeTempDir({ prefix: "convkit_sandbox_" });
  const nonce = crypto.randomUUID();
  const env: Record<string, string> = { NO_COLOR: "1" };
  const path = Deno.env.get("PATH");
  if (path) env.PATH = path;
  // Deno's own caches in a folder of this run: the shared ones (a code cache of 76 MB was seen) would
  // meet the limit on the size of files written, and a student's code has no business in them
  env.DENO_DIR = `${scratch}/.deno`;
  env.HOME = scratch;
  const limits = await bounded(
    Deno.execPath(),
    [
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
    DEFAULT_LIMITS,
    timeLimitMs / 1000 + 5,
  );
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
    limits.killAll();
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
