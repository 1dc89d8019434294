/**
 * The grading sandbox's entry point. The trusted grader starts it with the least permissions (read the
 * submission's `lib/` only, write a scratch folder only, no network, no processes, no environment) and
 * sends on standard input: a nonce, the path of the submission's `lib/`, and the programs of one exercise.
 * It prints each result on one line `@@result <nonce> <json>`; the nonce, read before any student code
 * runs, keeps student output from passing for a result.
 *
 * @module
 */
import { type Program, runProgram } from "./program.ts";

interface Job {
  nonce: string;
  lib: string;
  programs: { id: string; program: Program }[];
}

// a promise the student's code forgot to await must not end the sandbox (and the other cases with it)
globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());

const input = await new Response(Deno.stdin.readable).text();
const job: Job = JSON.parse(input);
const base = new URL(`file://${job.lib.endsWith("/") ? job.lib : job.lib + "/"}`);
const importer = (path: string) => import(new URL(path, base).href);
const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

for (const { id, program } of job.programs) {
  const result = await runProgram(program, importer);
  write(`@@result ${job.nonce} ${JSON.stringify({ id, result })}`);
}
write(`@@done ${job.nonce}`);
