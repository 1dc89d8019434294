/**
 * `deno task autograder [--out autograder.zip]`: the archive Gradescope runs (Gradescope's "Autograder
 * Specifications"): `setup.sh` and `run_autograder` at its root beside the files grading needs (`lib/`
 * with the solutions, `grading/` with the hidden cases, `deno.json`, `deno.lock`), taken from git.
 *
 * - `setup.sh` installs Deno (from npm; Node.js from the distribution's packages when npm is missing) and
 *   caches the kit's npm dependencies, so grading needs no network.
 * - `run_autograder` grades `$AUTOGRADER_ROOT/submission` (default `/autograder`; the submission's `lib/`
 *   at its top or one folder down), with the student id from `submission_metadata.json`, and writes
 *   `$AUTOGRADER_ROOT/results/results.json`; when nothing can be graded, a `results.json` with score 0
 *   that says why.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { zipSync } from "fflate";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The script Gradescope runs once, when the autograder is built. */
export const SETUP_SH = `#!/usr/bin/env bash
# convkit autograder set-up: Deno, then the npm packages grading uses (cached, so grading needs no network)
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v deno >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update && apt-get install -y nodejs npm
  fi
  npm install -g deno@2.9.6
fi
deno --version
deno cache grading/grade.ts
`;

/** The script Gradescope runs for each submission. */
export const RUN_AUTOGRADER = `#!/usr/bin/env bash
# convkit autograder: grade the submission, write results/results.json
ROOT="\${AUTOGRADER_ROOT:-/autograder}"
SRC="$(cd "$(dirname "$0")" && pwd)"
[ -f "$SRC/deno.json" ] || SRC="$ROOT/source"
mkdir -p "$ROOT/results"
SUB="$ROOT/submission"
if [ ! -d "$SUB/lib" ]; then
  for d in "$SUB"/*/; do
    if [ -d "$d/lib" ]; then SUB="\${d%/}"; break; fi
  done
fi
ID_ARGS=()
if [ -f "$ROOT/submission_metadata.json" ]; then
  ID_ARGS=(--gradescope-metadata "$ROOT/submission_metadata.json")
fi
cd "$SRC" || exit 1
if ! deno run -A grading/grade.ts --student "$SUB" "\${ID_ARGS[@]}" --gradescope "$ROOT/results/results.json" --quiet 2>"$ROOT/results/grade.err"; then
  msg="$(tail -c 800 "$ROOT/results/grade.err" | tr -d '\\000-\\037"\\\\')"
  printf '{"score": 0, "output": "convkit could not grade this submission: %s. Upload the files of your student edition (its lib/ folder).", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}\\n' "$msg" > "$ROOT/results/results.json"
fi
`;

async function gitFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--", "lib", "grading", "deno.json", "deno.lock"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`git ls-files failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).split("\0").filter(Boolean).sort();
}

/**
 * Builds the autograder archive; returns the files it holds.
 *
 * @throws {Error} when git cannot list the tree's files
 */
export async function buildAutograder(out: string): Promise<string[]> {
  const exe = { os: 3, attrs: (0o100755 << 16) >>> 0 };
  const files: Record<string, [Uint8Array, { os: number; attrs: number }] | Uint8Array> = {
    "setup.sh": [new TextEncoder().encode(SETUP_SH), exe],
    "run_autograder": [new TextEncoder().encode(RUN_AUTOGRADER), exe],
  };
  for (const f of await gitFiles()) files[f] = await Deno.readFile(`${root}/${f}`);
  const zip = zipSync(files, { level: 6, mtime: new Date("2026-01-01T00:00:00Z") });
  const tmp = `${out}.tmp-${Deno.pid}`;
  await Deno.writeFile(tmp, zip);
  await Deno.rename(tmp, out);
  return Object.keys(files);
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string" } } });
  const out = values.out ?? "autograder.zip";
  const files = await buildAutograder(out);
  console.log(`wrote ${out}: setup.sh, run_autograder and ${files.length - 2} files of the tree`);
}
