/**
 * `deno task release [--out DIR] [--force]`: writes the student edition of this tree.
 *
 * - In `.ts` files, every `// BEGIN SOLUTION <id> <what to implement>` ... `// END SOLUTION` region becomes a
 *   TODO comment and a `throw` that names the exercise and what to implement.
 * - In notebooks, marked regions of code cells become the same TODO, and outputs are cleared.
 * - `grading/hidden/` and `.ci/` are left out; `grading/expected.json` (the reference outputs of the visible
 *   cases) and a `student.json` to fill in are added.
 *
 * Files are those git tracks or would track (`git ls-files --cached --others --exclude-standard`; the tree
 * outside git), in sorted order, and nothing carries a
 * date: releasing twice gives identical files. The edition is written next to DIR and renamed into place,
 * so a failed release leaves nothing half-written.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { visibleCases } from "./cases.ts";
import { referenceResults } from "./grader.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Paths (relative to the root) never released. */
const EXCLUDE = [
  /^grading\/hidden\//,
  /^\.ci\//,
  /^build\//,
  /^\.git\//,
  /^grading\/expected\.json$/,
  /^student\.json$/,
];

const BEGIN = /^([ \t]*)\/\/ BEGIN SOLUTION (\S+)(?: (.*))?$/;
const END = /^[ \t]*\/\/ END SOLUTION\s*$/;

/** Thrown for malformed markers, naming file and line. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseError";
  }
}

/**
 * Replaces solution regions of TypeScript source with stubs; returns the new text and the exercise ids.
 *
 * @example
 * ```ts
 * import { stripSolutions } from "grading/release.ts";
 * import assert from "node:assert/strict";
 * const src = "export function f(): number {\n  // BEGIN SOLUTION ex9 Return 42.\n  return 42;\n  // END SOLUTION\n}\n";
 * const { text, exercises } = stripSolutions(src, "f.ts");
 * assert.deepEqual(exercises, ["ex9"]);
 * assert.match(text, /TODO ex9: Return 42\./);
 * assert.match(text, /throw new Error\("Exercise ex9 \(f\) is not implemented yet/);
 * assert.doesNotMatch(text, /return 42/);
 * ```
 */
export function stripSolutions(
  source: string,
  where: string,
): { text: string; exercises: string[] } {
  const lines = source.split("\n");
  const out: string[] = [];
  const exercises: string[] = [];
  let open: { id: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const b = line.match(BEGIN);
    if (b) {
      if (open) {
        throw new ReleaseError(
          `${where}:${i + 1}: BEGIN SOLUTION ${b[2]} inside ${open.id} (line ${open.line})`,
        );
      }
      const [, indent, id, what = "see the exercise"] = b;
      // the function the region belongs to: the nearest `function name(` above
      let fn = "";
      for (let j = out.length - 1; j >= 0 && !fn; j--) {
        fn = out[j].match(/function\s+(\w+)\s*\(/)?.[1] ?? "";
      }
      const msg = `Exercise ${id}${fn ? ` (${fn})` : ""} is not implemented yet: ${what}`;
      out.push(
        `${indent}// TODO ${id}: ${what}`,
        `${indent}throw new Error(${JSON.stringify(msg)});`,
      );
      open = { id, line: i + 1 };
      exercises.push(id);
      continue;
    }
    if (END.test(line)) {
      if (!open) throw new ReleaseError(`${where}:${i + 1}: END SOLUTION without BEGIN`);
      open = undefined;
      continue;
    }
    if (!open) out.push(line);
  }
  if (open) {
    throw new ReleaseError(`${where}:${open.line}: BEGIN SOLUTION ${open.id} is never closed`);
  }
  return { text: out.join("\n"), exercises };
}

/** A notebook's student edition: solution regions stubbed in code cells, outputs cleared. */
export function releaseNotebook(
  source: string,
  where: string,
): { text: string; exercises: string[] } {
  const nb = JSON.parse(source);
  const exercises: string[] = [];
  for (const [i, cell] of (nb.cells ?? []).entries()) {
    if (cell.cell_type !== "code") continue;
    const src = Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
    const { text, exercises: ids } = stripSolutions(src, `${where} cell ${i + 1}`);
    exercises.push(...ids);
    const lines = text.split("\n");
    cell.source = lines.map((l, k) => k < lines.length - 1 ? `${l}\n` : l).filter((l, k) =>
      l !== "" || k < lines.length - 1
    );
    cell.outputs = [];
    cell.execution_count = null;
  }
  return { text: JSON.stringify(nb, null, 1) + "\n", exercises };
}

async function listFiles(): Promise<string[]> {
  try {
    const out = await new Deno.Command("git", {
      args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      cwd: root,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.code === 0) {
      const files = [...new Set(new TextDecoder().decode(out.stdout).split("\0").filter(Boolean))];
      // git lists deleted-but-unstaged files too: keep those that exist
      return files.filter((f) => {
        try {
          return Deno.statSync(`${root}/${f}`).isFile;
        } catch {
          return false;
        }
      }).sort();
    }
  } catch { /* no git */ }
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${root}/${dir}`)) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (
        e.isDirectory &&
        !["node_modules", ".git", "build", ".nbcheck", ".scratch", ".gpu"].includes(e.name)
      ) walk(rel);
      else if (e.isFile) files.push(rel);
    }
  };
  walk("");
  return files.sort();
}

/** Writes the student edition to `out`; returns what it did. */
export async function release(out: string, opts: { force?: boolean } = {}) {
  const target = out.replace(/\/$/, "");
  let exists = false;
  try {
    await Deno.stat(target);
    exists = true;
  } catch { /* new */ }
  if (exists && !opts.force) throw new ReleaseError(`${target} exists; pass --force to replace it`);
  const tmp = `${target}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  const exercises = new Set<string>();
  let count = 0;
  try {
    for (const rel of await listFiles()) {
      if (EXCLUDE.some((r) => r.test(rel))) continue;
      const src = `${root}/${rel}`, dst = `${tmp}/${rel}`;
      await Deno.mkdir(dst.slice(0, dst.lastIndexOf("/")), { recursive: true });
      if (rel.endsWith(".ts") || rel.endsWith(".ipynb")) {
        const text = await Deno.readTextFile(src);
        const r = rel.endsWith(".ts") ? stripSolutions(text, rel) : releaseNotebook(text, rel);
        r.exercises.forEach((e) => exercises.add(e));
        await Deno.writeTextFile(dst, r.text);
      } else {
        await Deno.copyFile(src, dst);
      }
      count++;
    }
    // reference outputs of the visible cases, so students can check their work without the solutions
    const cases = visibleCases();
    const ref = await referenceResults(cases, true);
    const expected = Object.fromEntries(cases.map((c) => [c.id, ref.get(c.id)]));
    await Deno.writeTextFile(`${tmp}/grading/expected.json`, JSON.stringify(expected) + "\n");
    await Deno.writeTextFile(`${tmp}/student.json`, JSON.stringify({ id: "" }, null, 2) + "\n");
    if (exists) await Deno.remove(target, { recursive: true });
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return { out: target, files: count + 2, exercises: [...exercises].sort() };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" }, force: { type: "boolean" } },
  });
  try {
    const r = await release(values.out ?? `${root}/build/student`, { force: values.force });
    console.log(
      `released ${r.files} files to ${r.out}; ${r.exercises.length} exercise stubs: ${
        r.exercises.join(", ")
      }`,
    );
  } catch (e) {
    if (e instanceof ReleaseError) {
      console.error(`release: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
