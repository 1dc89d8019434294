/**
 * `deno task release [--out DIR] [--force] [--with-solutions]`: writes the student edition of this tree.
 *
 * - In `.ts` files, every `// BEGIN SOLUTION <id> <what to implement>` ... `// END SOLUTION` region becomes
 *   `// BEGIN EXERCISE <id>`, a TODO, a `throw` of a `NotImplementedError` that names the exercise and what
 *   to implement, and `// END EXERCISE <id>`. The grader finds the student's code between those markers.
 *   `--with-solutions` keeps the solutions between them (a solved edition, for tests and CI).
 * - Notebooks are released with outputs cleared; they hold no solutions.
 * - Refused: a region no exercise grades, an exercise with no region or with its region in another file or
 *   function, near-miss markers, and points that do not add up to `TOTAL_POINTS` (all listed at once).
 * - Left out: `grading/hidden/`, `.ci/`, `tests/` (the instructor's tests, fixtures of expected values),
 *   `bench/`, `deploy/` and the instructor's tools (hub-check, image-check, check); the student
 *   edition's README is `grading/STUDENT_README.md`. Added: `grading/stubs.json`
 *   (the released text of every file with an exercise, for `deno task reset` and the grader),
 *   `grading/edition.json` and a `student.json` to fill in.
 *
 * Files are those git tracks (`git ls-files`; untracked files, such as a `.env.local` or a backup of a
 * solution, are left out and listed; the whole tree outside git), in sorted order, and nothing carries a date: releasing twice gives identical files. The
 * edition is written next to DIR and renamed into place, so a failed release leaves nothing half-written.
 * DIR may not be, contain or lie inside this tree (except under `build/`), and an existing DIR is replaced
 * (with `--force`) only when it is an earlier release.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Case, visibleCases } from "./cases.ts";
import { EXERCISES, TOTAL_POINTS } from "./exercises.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

const BEGIN = /^([ \t]*)\/\/ BEGIN SOLUTION (\S+)(?: (.*))?$/;
const END = /^[ \t]*\/\/ END SOLUTION\s*$/;
/** Anything that looks like a marker but is not one: `//BEGIN SOLUTION`, `// begin solution`, a block comment. */
const NEAR = /^[ \t]*\/[/*]+\s*(begin|end)[\s_-]*solution/i;

/** The markers of a student's region in the student edition; the grader and `deno task reset` find it by them. */
export const STUDENT_BEGIN = /^([ \t]*)\/\/ BEGIN EXERCISE (\S+)\b.*$/;
export const STUDENT_END = /^[ \t]*\/\/ END EXERCISE (\S+)\s*$/;

/** Thrown for malformed markers, naming file and line. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseError";
  }
}

/** One marked region as the release found it. */
export interface Region {
  id: string;
  /** What to implement (the marker's text). */
  what: string;
  /** The function the region is in: the nearest `function name(` above it. */
  fn: string;
  /** 1-based line of the BEGIN marker. */
  line: number;
}

/** Options of `stripSolutions`. */
export interface StripOptions {
  /** Keep the solution between the student markers (a solved student edition, for tests and CI). */
  solutions?: boolean;
}

/**
 * The lines a student edition has in place of one solution region: markers that the grader and
 * `deno task reset` find, a TODO, and a `throw` of a `NotImplementedError` naming the exercise.
 */
export function stubLines(indent: string, region: Region): string[] {
  const msg = `Exercise ${region.id}${
    region.fn ? ` (${region.fn})` : ""
  } is not implemented yet: ${region.what}`;
  return [
    `${indent}// BEGIN EXERCISE ${region.id} (write your code between this line and END EXERCISE ${region.id})`,
    `${indent}// TODO ${region.id}: ${region.what}`,
    `${indent}throw Object.assign(new Error(${
      JSON.stringify(msg)
    }), { name: "NotImplementedError" });`,
    `${indent}// END EXERCISE ${region.id}`,
  ];
}

/**
 * Replaces solution regions of TypeScript source with stubs; returns the new text and the regions.
 *
 * @throws {ReleaseError} for a BEGIN without END, an END without BEGIN, nested regions, and near-miss
 *   markers (`//BEGIN SOLUTION`, `// Begin Solution`), naming the file and line
 * @example
 * ```ts
 * import { stripSolutions } from "grading/release.ts";
 * import assert from "node:assert/strict";
 * const src = "export function f(): number {\n  // BEGIN SOLUTION ex9 Return 42.\n  return 42;\n  // END SOLUTION\n}\n";
 * const { text, exercises } = stripSolutions(src, "f.ts");
 * assert.deepEqual(exercises, ["ex9"]);
 * assert.match(text, /TODO ex9: Return 42\./);
 * assert.match(text, /Exercise ex9 \(f\) is not implemented yet/);
 * assert.match(text, /BEGIN EXERCISE ex9/);
 * assert.doesNotMatch(text, /return 42/);
 * ```
 */
export function stripSolutions(
  source: string,
  where: string,
  opts: StripOptions = {},
): { text: string; exercises: string[]; regions: Region[] } {
  const lines = source.split("\n");
  const out: string[] = [];
  const regions: Region[] = [];
  let open: (Region & { indent: string }) | undefined;
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
      let fn = "";
      for (let j = out.length - 1; j >= 0 && !fn; j--) {
        fn = out[j].match(/function\s+(\w+)\s*[(<]/)?.[1] ?? "";
      }
      open = { id, what, fn, line: i + 1, indent };
      regions.push({ id, what, fn, line: i + 1 });
      const stub = stubLines(indent, open);
      out.push(...(opts.solutions ? [stub[0]] : stub));
      continue;
    }
    if (END.test(line)) {
      if (!open) throw new ReleaseError(`${where}:${i + 1}: END SOLUTION without BEGIN`);
      if (opts.solutions) out.push(`${open.indent}// END EXERCISE ${open.id}`);
      open = undefined;
      continue;
    }
    if (NEAR.test(line)) {
      throw new ReleaseError(
        `${where}:${i + 1}: "${line.trim()}" looks like a solution marker but is not one: ` +
          `write "// BEGIN SOLUTION <exercise> <what to implement>" or "// END SOLUTION" exactly`,
      );
    }
    if (!open || opts.solutions) out.push(line);
  }
  if (open) {
    throw new ReleaseError(`${where}:${open.line}: BEGIN SOLUTION ${open.id} is never closed`);
  }
  return { text: out.join("\n"), exercises: regions.map((r) => r.id), regions };
}

/**
 * Checks the regions of a whole tree against the exercise list: every region is an exercise, in the file
 * and function the list names, every exercise has exactly one region, and the points add up.
 *
 * @param found regions per file path relative to the tree (`lib/shape.ts`, `notebooks/15_assignment.ipynb`)
 * @param unreadable files whose markers could not be read (their problem is reported already)
 * @returns the problems, one line each (empty when all is well)
 */
export function checkRegions(
  found: Map<string, Region[]>,
  unreadable: ReadonlySet<string> = new Set(),
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const ids = EXERCISES.map((e) => e.id);
  for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) {
    problems.push(`grading/exercises.ts declares ${id} more than once`);
  }
  for (const [file, regions] of found) {
    for (const r of regions) {
      const ex = EXERCISES.find((e) => e.id === r.id);
      const at = `${file}:${r.line}`;
      if (!ex) {
        problems.push(
          `${at}: BEGIN SOLUTION ${r.id}: no exercise "${r.id}" in grading/exercises.ts, so nothing would grade it ` +
            `(the exercises: ${EXERCISES.map((e) => e.id).join(", ")})`,
        );
        continue;
      }
      if (file !== `lib/${ex.file}`) {
        problems.push(
          `${at}: ${r.id} is marked here, but grading/exercises.ts puts it in lib/${ex.file}`,
        );
      } else if (r.fn !== ex.fn) {
        problems.push(
          `${at}: ${r.id} is marked in function ${
            r.fn || "(none)"
          }, but grading/exercises.ts names ${ex.fn}`,
        );
      }
      if (seen.has(r.id)) problems.push(`${at}: ${r.id} is marked twice (also ${seen.get(r.id)})`);
      seen.set(r.id, at);
    }
  }
  for (const e of EXERCISES) {
    // a file whose markers could not be read is reported once, above, not once per exercise in it
    if (!seen.has(e.id) && !unreadable.has(`lib/${e.file}`)) {
      problems.push(
        `${e.id} (${e.title}) has no marked region: add "// BEGIN SOLUTION ${e.id} ..." in lib/${e.file}`,
      );
    }
  }
  const total = EXERCISES.reduce((a, e) => a + e.points, 0);
  if (total !== TOTAL_POINTS) {
    problems.push(
      `the exercises' points add up to ${total}, not ${TOTAL_POINTS} (TOTAL_POINTS in grading/exercises.ts)`,
    );
  }
  return problems;
}

/** A notebook's student edition: outputs cleared; solution regions are refused (notebooks hold none). */
export function releaseNotebook(
  source: string,
  where: string,
): { text: string; exercises: string[]; regions: Region[] } {
  const nb = JSON.parse(source);
  const regions: Region[] = [];
  for (const [i, cell] of (nb.cells ?? []).entries()) {
    if (cell.cell_type !== "code") continue;
    const src = Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
    const r = stripSolutions(src, `${where} cell ${i + 1}`);
    if (r.regions.length) {
      throw new ReleaseError(
        `${where} cell ${i + 1}: BEGIN SOLUTION ${
          r.regions[0].id
        }: exercises live in lib/ (grading/exercises.ts); ` +
          `a notebook cell that needs one uses withExercises() from convkit/lecture.ts`,
      );
    }
    cell.outputs = [];
    cell.execution_count = null;
  }
  return { text: JSON.stringify(nb, null, 1) + "\n", exercises: [], regions };
}

/** A git command's output in this tree ("" without git). */
async function git(args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" })
      .output();
    return out.code === 0 ? new TextDecoder().decode(out.stdout) : "";
  } catch {
    return "";
  }
}

/** Files git does not track (ignored ones aside): never released, and named so the instructor knows. */
async function untrackedFiles(): Promise<string[]> {
  return (await git(["ls-files", "-z", "--others", "--exclude-standard"])).split("\0").filter(
    Boolean,
  )
    .sort();
}

async function listFiles(): Promise<string[]> {
  try {
    const out = await new Deno.Command("git", {
      args: ["ls-files", "-z", "--cached"],
      cwd: root,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.code === 0) {
      const files = [...new Set(new TextDecoder().decode(out.stdout).split("\0").filter(Boolean))];
      // git lists deleted-but-unstaged files too: keep those that exist
      return files.filter((f) => {
        try {
          return Deno.lstatSync(`${root}/${f}`).isFile;
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

/** Refuses an output folder that would overwrite the instructor's tree or a folder that is not a release. */
async function checkOut(target: string, force: boolean): Promise<boolean> {
  const abs = (p: string) => p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
  const norm = (p: string) => {
    const parts: string[] = [];
    for (const s of abs(p).split("/")) {
      if (s === "..") parts.pop();
      else if (s && s !== ".") parts.push(s);
    }
    return "/" + parts.join("/");
  };
  // where the folder will really be: the nearest existing ancestor resolved (links followed), plus the rest
  const parts = norm(target).split("/").filter(Boolean);
  let real = norm(target);
  for (let k = parts.length; k >= 0; k--) {
    try {
      const base = await Deno.realPath("/" + parts.slice(0, k).join("/"));
      real = [base.replace(/\/$/, ""), ...parts.slice(k)].join("/") || "/";
      break;
    } catch { /* does not exist yet: try its parent */ }
  }
  const tree = await Deno.realPath(root);
  const inside = (a: string, b: string) => a === b || a.startsWith(b === "/" ? "/" : b + "/");
  if (inside(tree, real)) {
    throw new ReleaseError(
      `--out ${target} is or contains this tree (${tree}): choose another folder`,
    );
  }
  if (inside(real, tree) && !inside(real, `${tree}/build`)) {
    throw new ReleaseError(
      `--out ${target} lies inside this tree: choose a folder outside it, or under build/`,
    );
  }
  let exists = false;
  try {
    await Deno.lstat(target);
    exists = true;
  } catch { /* new */ }
  if (!exists) return false;
  if (!force) throw new ReleaseError(`${target} exists; pass --force to replace it`);
  let earlier = false;
  try {
    earlier = JSON.parse(await Deno.readTextFile(`${target}/grading/edition.json`)).edition ===
      "student";
  } catch { /* not a release */ }
  const empty = earlier ? false : [...Deno.readDirSync(target)].length === 0;
  if (!earlier && !empty) {
    throw new ReleaseError(
      `${target} is not an earlier release (no grading/edition.json): --force replaces only those`,
    );
  }
  return true;
}

/** Paths (relative to the root) never released. */
const EXCLUDE = [
  /^grading\/hidden\//,
  /^\.ci\//,
  /^build\//,
  /^\.git\//,
  /^tests\//,
  /^bench\//,
  /^README\.md$/,
  /^grading\/STUDENT_README\.md$/,
  /^grading\/(stubs|edition|expected)\.json$/,
  /^student\.json$/,
  // the instructor's tools: the class server and its image, the static checks
  /^deploy\//,
  /^tools\/hub\//,
  /^tools\/(hub_check|image_check|check)\.ts$/,
];

/**
 * Checks that every exercise is graded and checked: visible cases (`grading/cases.ts`), hidden cases
 * (`grading/hidden/cases.ts`, where it exists), and a check cell in the assignment notebook.
 *
 * @returns the problems, one line each
 */
export async function checkCoverage(): Promise<string[]> {
  const problems: string[] = [];
  const visible = visibleCases("release check");
  let hidden: Case[] | undefined;
  try {
    const mod = await import(new URL("./hidden/cases.ts", import.meta.url).href);
    hidden = mod.hiddenCases("release check");
  } catch { /* a student edition: no hidden cases here */ }
  let assignment = "";
  try {
    assignment = await Deno.readTextFile(`${root}/notebooks/15_assignment.ipynb`);
  } catch { /* checked below */ }
  for (const e of EXERCISES) {
    if (!visible.some((c) => c.exercise === e.id)) {
      problems.push(`${e.id} has no visible cases: add some in visibleCases() in grading/cases.ts`);
    }
    if (hidden && !hidden.some((c) => c.exercise === e.id)) {
      problems.push(`${e.id} has no hidden cases: add some in grading/hidden/cases.ts`);
    }
    if (!assignment.includes(`checkExercise(\\"${e.id}\\")`)) {
      problems.push(
        `${e.id} has no check cell in notebooks/15_assignment.ipynb: add one with checkExercise("${e.id}")`,
      );
    }
  }
  return problems;
}

/** The tasks of the student edition's `deno.json`. */
export const STUDENT_TASKS = ["lab", "test", "notebooks", "grade", "reset", "data"];

/** Options of `release`. */
export interface ReleaseOptions {
  /** Replace an earlier release at `out`. */
  force?: boolean;
  /** Keep the solutions between the student markers (a solved edition). */
  solutions?: boolean;
}

/**
 * Writes the student edition to `out`; returns what it did.
 *
 * @throws {ReleaseError} on markers or exercises that are wrong (every problem listed), and on an `out`
 *   that is, contains or lies inside this tree, or exists and is not an earlier release
 */
export async function release(out: string, opts: ReleaseOptions = {}) {
  const target = out.length > 1 ? out.replace(/\/$/, "") : out;
  const exists = await checkOut(target, opts.force ?? false);
  const files = (await listFiles()).filter((rel) => !EXCLUDE.some((r) => r.test(rel)));
  // every marked region first, so that all authoring mistakes are listed at once
  const texts = new Map<string, string>();
  const found = new Map<string, Region[]>();
  const stubs: Record<string, string> = {};
  const problems: string[] = [];
  const unreadable = new Set<string>();
  for (const rel of files) {
    if (!rel.endsWith(".ts") && !rel.endsWith(".ipynb")) continue;
    const text = await Deno.readTextFile(`${root}/${rel}`);
    try {
      const r = rel.endsWith(".ts") ? stripSolutions(text, rel) : releaseNotebook(text, rel);
      texts.set(rel, r.text);
      if (r.regions.length) {
        found.set(rel, r.regions);
        stubs[rel] = r.text;
        if (opts.solutions) texts.set(rel, stripSolutions(text, rel, { solutions: true }).text);
      }
    } catch (e) {
      if (!(e instanceof ReleaseError)) throw e;
      problems.push(e.message);
      unreadable.add(rel);
    }
  }
  problems.push(...checkRegions(found, unreadable), ...(await checkCoverage()));
  if (problems.length) {
    throw new ReleaseError(`nothing released:\n  ${problems.join("\n  ")}`);
  }
  const tmp = `${target}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    for (const rel of files) {
      const dst = `${tmp}/${rel}`;
      await Deno.mkdir(dst.slice(0, dst.lastIndexOf("/")), { recursive: true });
      if (texts.has(rel)) await Deno.writeTextFile(dst, texts.get(rel)!);
      else await Deno.copyFile(`${root}/${rel}`, dst);
    }
    await Deno.mkdir(`${tmp}/grading`, { recursive: true });
    await Deno.writeTextFile(`${tmp}/grading/stubs.json`, JSON.stringify(stubs, null, 1) + "\n");
    await Deno.writeTextFile(
      `${tmp}/grading/edition.json`,
      JSON.stringify({ edition: "student", solutions: opts.solutions ?? false }, null, 2) + "\n",
    );
    await Deno.copyFile(`${root}/grading/STUDENT_README.md`, `${tmp}/README.md`);
    // the student's tasks: those whose files ship (no bench, fixtures, release or instructor checks)
    const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
    config.tasks = Object.fromEntries(
      Object.entries(config.tasks ?? {}).filter(([name]) => STUDENT_TASKS.includes(name)),
    );
    await Deno.writeTextFile(`${tmp}/deno.json`, JSON.stringify(config, null, 2) + "\n");
    await Deno.writeTextFile(`${tmp}/student.json`, JSON.stringify({ id: "" }, null, 2) + "\n");
    if (exists) await Deno.remove(target, { recursive: true });
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const left = (await listFiles()).filter((rel) =>
    EXCLUDE.some((r) => r.test(rel)) && !/README\.md$/.test(rel)
  );
  const untracked = await untrackedFiles();
  const changed = await git(["status", "--porcelain", "--untracked-files=no"]);
  return {
    out: target,
    files: files.length + 4,
    exercises: [...found.values()].flat().map((r) => r.id).sort(),
    untracked,
    /** Tracked files with changes not committed: released as they are in the working tree. */
    uncommitted: changed.split("\n").filter(Boolean).map((l) => l.slice(3)),
    leftOut: [
      ...new Set(
        left.map((f) => f.split("/").slice(0, /^(grading|tools)\//.test(f) ? 2 : 1).join("/")),
      ),
    ],
  };
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        force: { type: "boolean" },
        "with-solutions": { type: "boolean" },
      },
    }));
  } catch (e) {
    console.error(`release: ${(e as Error).message}`);
    Deno.exit(2);
  }
  try {
    const r = await release(values.out ?? `${root}/build/student`, {
      force: values.force,
      solutions: values["with-solutions"],
    });
    console.log(
      `released ${r.files} files to ${r.out}; ${r.exercises.length} exercise ${
        values["with-solutions"] ? "regions with their solutions" : "stubs"
      }: ${r.exercises.join(", ")}\nleft out: ${r.leftOut.join(", ")}` +
        (r.untracked.length
          ? `\nnot released, since git does not track them: ${r.untracked.join(", ")}`
          : "") +
        (r.uncommitted.length
          ? `\nwarning: released with changes not committed (commit them to know what students got): ${
            r.uncommitted.join(", ")
          }`
          : ""),
    );
  } catch (e) {
    if (e instanceof ReleaseError) {
      console.error(`release: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
