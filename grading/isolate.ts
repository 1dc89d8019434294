/**
 * Each exercise graded on its own. For exercise X the grader builds a private copy of just the `lib/`
 * files X's cases load (the module closure of the released files' imports): the student's file of X, and
 * for every other file the released (stub) text. Every other exercise's region, in those files and in X's
 * own file, is replaced by a replay of the right values that the reference solution returned for exactly
 * the calls X's cases make (recorded in the trusted process, `recordingLib`). So a mistake costs only the
 * exercise it is in, a file that does not load costs only the exercises in it, and delegating X to another
 * exercise or to a module outside the closure earns nothing: the replay knows no other calls, and the
 * module is not there.
 *
 * In a student edition (self-grading, visible cases only) there is no solution to record: the copy holds
 * the student's own files, limited to the same closure.
 *
 * @module
 */
import { type Exercise, EXERCISES } from "./exercises.ts";
import { STUDENT_BEGIN, STUDENT_END } from "./release.ts";

/** Largest student file read, in bytes. */
export const MAX_FILE_BYTES = 1 << 20;

/** The relative imports of a module's source (`import type` left out: it loads nothing). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re =
    /^\s*(?:import|export)\b\s*(type\b\s*)?(?:[\s\S]*?\bfrom\s*)?["'](\.{1,2}\/[^"']+)["']/gm;
  for (const m of text.matchAll(re)) if (!m[1]) out.push(m[2]);
  return out;
}

/** `spec` imported from `from` (both relative to `lib/`), as a path relative to `lib/`; undefined outside. */
export function resolveImport(from: string, spec: string): string | undefined {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") {
      if (!parts.length) return undefined;
      parts.pop();
    } else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/**
 * The `lib/` files that `entries` load, following relative imports through `text` (the released texts).
 *
 * @example
 * ```ts
 * import { closure } from "grading/isolate.ts";
 * import assert from "node:assert/strict";
 * const texts = new Map([["a.ts", 'import { b } from "./x/b.ts";'], ["x/b.ts", "export const b = 1;"]]);
 * assert.deepEqual(closure(["a.ts"], (p) => texts.get(p)), ["a.ts", "x/b.ts"]);
 * ```
 */
export function closure(entries: readonly string[], text: (path: string) => string | undefined) {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    const t = text(p);
    if (t === undefined) continue;
    seen.add(p);
    for (const spec of importsOf(t)) {
      const r = resolveImport(p, spec);
      if (r && !seen.has(r)) todo.push(r);
    }
  }
  return [...seen].sort();
}

/** The code that stands in a replaced region: the right values, recorded, for the calls the cases make. */
function replayLine(indent: string, id: string): string {
  return `${indent}return (globalThis as any).__convkitReplay(${
    JSON.stringify(id)
  }, Array.from(arguments));`;
}

/**
 * Replaces the student regions of the exercises `ids` (between `// BEGIN EXERCISE id` and
 * `// END EXERCISE id`) by a replay of recorded values.
 *
 * @returns the new text, and the ids whose markers were not found (their code stays as it is)
 */
export function replaceRegions(
  text: string,
  ids: readonly string[],
): { text: string; missing: string[] } {
  const lines = text.split("\n");
  const out: string[] = [];
  const found = new Set<string>();
  let open: string | undefined;
  for (const line of lines) {
    const b = line.match(STUDENT_BEGIN);
    if (b && !open && ids.includes(b[2])) {
      open = b[2];
      found.add(open);
      out.push(line, replayLine(b[1], open));
      continue;
    }
    if (open) {
      const e = line.match(STUDENT_END);
      if (e && e[1] === open) {
        out.push(line);
        open = undefined;
      }
      continue;
    }
    out.push(line);
  }
  if (open) return { text, missing: [...ids] }; // an unclosed region: leave the file alone
  return { text: out.join("\n"), missing: ids.filter((id) => !found.has(id)) };
}

/** The exercises whose regions are in `path` (relative to `lib/`). */
export function exercisesIn(path: string): Exercise[] {
  return EXERCISES.filter((e) => e.file === path);
}

/** Reads a submission's file if it is a regular file under the size bound; a reason otherwise. */
export async function readStudentFile(
  lib: string,
  path: string,
): Promise<{ text: string } | { problem: string }> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(`${lib}/${path}`);
  } catch {
    return { problem: `lib/${path} is missing` };
  }
  if (st.isSymlink) return { problem: `lib/${path} is a symbolic link: submit the file itself` };
  if (!st.isFile) return { problem: `lib/${path} is not a regular file` };
  if (st.size > MAX_FILE_BYTES) {
    return { problem: `lib/${path} is larger than ${MAX_FILE_BYTES >> 10} KiB` };
  }
  for (const dir = path.split("/").slice(0, -1); dir.length; dir.pop()) {
    if ((await Deno.lstat(`${lib}/${dir.join("/")}`)).isSymlink) {
      return { problem: `lib/${dir.join("/")} is a symbolic link` };
    }
  }
  try {
    // line ends as Windows writes them (a checkout with autocrlf) must not hide the markers
    return { text: (await Deno.readTextFile(`${lib}/${path}`)).replace(/\r\n?/g, "\n") };
  } catch (e) {
    return { problem: `lib/${path} cannot be read (${(e as Error).name})` };
  }
}

/** What `buildTree` made: the folder to grade in, and what the report should say. */
export interface PrivateTree {
  /** Files written, relative to `lib/`. */
  files: string[];
  /** A problem that stops the exercise from running at all (its file missing or a link). */
  problem?: string;
  /** Exercises whose markers were missing, so their code was not replaced. */
  unreplaced: string[];
  /** Whether the exercise's own markers are in its file. */
  ownMarkers?: boolean;
}

/**
 * Writes the private `lib/` for one exercise into `dir`.
 *
 * @param released released texts of every `lib/` file, relative to `lib/`
 * @param studentLib the submission's `lib/` folder
 * @param replay instructor mode: replace the other exercises' regions and use released texts elsewhere;
 *   self mode (false): the student's own files, as they are
 */
export async function buildTree(opts: {
  exercise: Exercise;
  entries: readonly string[];
  released: ReadonlyMap<string, string>;
  studentLib: string;
  replay: boolean;
  dir: string;
}): Promise<PrivateTree> {
  const { exercise, released, replay } = opts;
  const files = closure([...opts.entries, exercise.file], (p) => released.get(p));
  const own = await readStudentFile(opts.studentLib, exercise.file);
  if ("problem" in own) return { files: [], problem: own.problem, unreplaced: [] };
  const outside = importsOf(own.text).map((spec) => [spec, resolveImport(exercise.file, spec)])
    .filter(([, p]) => !p || !files.includes(p));
  if (outside.length) {
    return {
      files: [],
      unreplaced: [],
      problem: `lib/${exercise.file} imports ${
        outside.map(([spec]) => spec).join(", ")
      }, which ${exercise.id} may not use: an exercise may import only what its released file loads (${
        files.map((f) => `lib/${f}`).join(", ")
      })`,
    };
  }
  const unreplaced: string[] = [];
  for (const path of files) {
    let text: string;
    if (path === exercise.file) text = own.text;
    else if (replay) text = released.get(path)!;
    else {
      const r = await readStudentFile(opts.studentLib, path);
      text = "text" in r ? r.text : released.get(path)!;
    }
    if (replay) {
      const others = exercisesIn(path).map((e) => e.id).filter((id) => id !== exercise.id);
      if (others.length) {
        const r = replaceRegions(text, others);
        text = r.text;
        unreplaced.push(...r.missing);
      }
    }
    const dst = `${opts.dir}/${path}`;
    await Deno.mkdir(dst.slice(0, dst.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(dst, text);
  }
  const lines = own.text.split("\n");
  const ownMarkers = lines.some((l) => l.match(STUDENT_BEGIN)?.[2] === exercise.id) &&
    lines.some((l) => l.match(STUDENT_END)?.[1] === exercise.id);
  return { files, unreplaced, ownMarkers };
}

/**
 * A copy of the reference `lib/` in which every exercise's function records its calls: it is renamed and
 * wrapped by `export function name(...args) { return __convkitRecord(id, args, () => impl(...args)); }`.
 *
 * @param lib the instructor's `lib/` folder
 * @param dest an empty folder for the copy
 * @throws {Error} when an exercise's function is not found in its file
 */
export async function recordingLib(lib: string, dest: string): Promise<void> {
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${lib}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        await Deno.mkdir(`${dest}/${path}`, { recursive: true });
        await walk(path);
        continue;
      }
      if (!e.isFile || !path.endsWith(".ts")) continue;
      let text = await Deno.readTextFile(`${lib}/${path}`);
      for (const ex of exercisesIn(path)) {
        const decl = new RegExp(`export function ${ex.fn}\\s*\\(`);
        if (!decl.test(text)) throw new Error(`lib/${path} has no "export function ${ex.fn}("`);
        const impl = `__convkit_impl_${ex.fn}`;
        text = text.replace(decl, `function ${impl}(`) +
          `\nexport function ${ex.fn}(...args: any[]): any {\n  return (globalThis as any).__convkitRecord(${
            JSON.stringify(ex.id)
          }, args, () => (${impl} as any)(...args));\n}\n`;
      }
      await Deno.writeTextFile(`${dest}/${path}`, text);
    }
  };
  await Deno.mkdir(dest, { recursive: true });
  await walk("");
}
