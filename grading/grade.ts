/**
 * `deno task grade`: grades a submission, or a whole class.
 *
 *     deno task grade                                  this tree (a student checking their work)
 *     deno task grade --student DIR [--id ID]          one submission
 *         [--report FILE] [--json FILE] [--junit FILE] [--gradescope FILE] [--gradescope-metadata FILE]
 *         [--time-limit SECONDS] [--only ex2.1,ex2.2]
 *     deno task grade --class DIR --csv FILE [--jobs N] [--out DIR] [--regrade]
 *         [--gradebook FILE [--assignment NAME]]
 *
 * In the instructor's tree (with grading/hidden/) it runs visible and hidden tests; in a student edition,
 * the visible tests. Class mode writes each student's report (`NAME.txt`, `NAME.json`) into `--out`
 * (default: FILE's name with `.d`) as soon as it is graded, and the CSV from those files after every
 * student, so a run that is stopped loses nothing: the same command again grades only the students
 * without a report (`--regrade` grades all again). Folders to write into are created, and checked
 * writable, before grading starts. `--gradebook FILE` also writes the points in the shape Canvas's
 * gradebook imports (`reportsGradebook`). Exits 0 when grading finished, whatever the scores; 2 on bad arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { EXERCISES } from "./exercises.ts";
import { GradeError, gradeSubmission, type Report } from "./grader.ts";
import {
  reportGradescope,
  reportJunit,
  reportsCsv,
  reportsGradebook,
  reportText,
} from "./report.ts";

function fail(msg: string): never {
  console.error(`grade: ${msg}`);
  Deno.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    options: {
      student: { type: "string" },
      id: { type: "string" },
      report: { type: "string" },
      json: { type: "string" },
      junit: { type: "string" },
      gradescope: { type: "string" },
      "gradescope-metadata": { type: "string" },
      class: { type: "string" },
      csv: { type: "string" },
      gradebook: { type: "string" },
      assignment: { type: "string" },
      out: { type: "string" },
      jobs: { type: "string" },
      "time-limit": { type: "string" },
      only: { type: "string" },
      regrade: { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (e) {
  fail((e as Error).message);
}

/** A whole number in [min, max] from an option, or exit 2 naming the option. */
function intOption(name: string, raw: string | undefined, min: number, max: number) {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    fail(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

if (values.help) {
  const doc = Deno.readTextFileSync(new URL(import.meta.url)).match(/\/\*\*\n([\s\S]*?)\n \*\/\n/)
    ?.[1];
  console.log(
    (doc ?? "").split("\n").map((l) => l.replace(/^ \* ?/, "")).filter((l) => l !== "@module").join(
      "\n",
    ),
  );
  Deno.exit(0);
}

const limitS = intOption("time-limit", values["time-limit"], 1, 3600);
const timeLimitMs = limitS === undefined ? undefined : limitS * 1000;
const only = values.only?.split(",").map((s) => s.trim());
for (const id of only ?? []) {
  if (!EXERCISES.some((e) => e.id === id)) {
    fail(`--only: no exercise "${id}"; the exercises are ${EXERCISES.map((e) => e.id).join(", ")}`);
  }
}

/** Makes the folder that will hold `path` and checks it can be written, before any grading. */
async function prepare(path: string | undefined, isDir = false) {
  if (!path) return;
  const dir = isDir ? path : path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.convkit-write-test-${Deno.pid}`;
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    fail(`cannot write into ${dir} (for ${path}): ${(e as Error).message}`);
  }
}

async function writeAtomic(path: string, text: string) {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** A file name for a submission folder's name: its safe characters, and a hash of the whole name. */
function fileName(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193) >>> 0;
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_").slice(0, 80);
  // always the hash: a folder named like another's safe name plus hash must not share its file
  return `${safe}-${h.toString(16).padStart(8, "0")}`;
}

/** The folder with the `lib/`: `dir` itself or, as an upload often nests it, one folder down. */
async function submissionIn(dir: string): Promise<string> {
  if (await isSubmission(dir)) return dir;
  const inner = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && await isSubmission(`${dir}/${e.name}`)) inner.push(`${dir}/${e.name}`);
  }
  if (inner.length === 1) return inner[0];
  throw new GradeError(
    inner.length ? `more than one folder with a lib/: ${inner.join(", ")}` : "no lib/ folder",
  );
}

async function isSubmission(dir: string): Promise<boolean> {
  try {
    return (await Deno.lstat(`${dir}/lib`)).isDirectory;
  } catch {
    return false;
  }
}

if (values.class) {
  if (!values.csv) fail("--class needs --csv FILE for the scores");
  const jobs = intOption("jobs", values.jobs, 1, 64) ?? Math.max(1, navigator.hardwareConcurrency);
  const out = values.out ?? `${values.csv.replace(/\.csv$/, "")}.d`;
  await prepare(values.csv);
  await prepare(values.gradebook);
  await prepare(out, true);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(values.class)];
  } catch (e) {
    fail(`cannot read the class folder ${values.class}: ${(e as Error).message}`);
  }
  const dirs = entries.filter((e) => e.isDirectory).map((e) => e.name).sort();
  const done = async (name: string) => {
    try {
      const saved = JSON.parse(await Deno.readTextFile(`${out}/${fileName(name)}.json`));
      return saved?.name === name ? saved : undefined; // another folder's report is no grade of this one
    } catch {
      return undefined;
    }
  };
  const todo: string[] = [];
  for (const d of dirs) if (values.regrade || !(await done(d))) todo.push(d);
  console.log(
    `grading ${todo.length} of ${dirs.length} submissions in ${values.class}, ${jobs} at a time` +
      (todo.length < dirs.length ? ` (${dirs.length - todo.length} already graded in ${out})` : ""),
  );
  const writeCsv = async () => {
    const rows = [];
    for (const name of dirs) {
      const saved = await done(name);
      rows.push(
        saved?.report
          ? { name, report: saved.report as Report }
          : { name, error: saved?.error ?? "not graded yet" },
      );
    }
    await writeAtomic(values.csv!, reportsCsv(rows));
    if (values.gradebook) {
      await writeAtomic(values.gradebook, reportsGradebook(rows, values.assignment));
    }
  };
  let next = 0, finished = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, async () => {
    while (next < todo.length) {
      const name = todo[next++];
      let dir = `${values.class}/${name}`;
      let saved: { report?: Report; error?: string };
      try {
        dir = await submissionIn(dir);
        saved = { report: await gradeSubmission({ submission: dir, timeLimitMs, only }) };
      } catch (e) {
        saved = { error: String((e as Error).message ?? e).split("\n")[0] };
      }
      const base = `${out}/${fileName(name)}`;
      try {
        if (saved.report) await writeAtomic(`${base}.txt`, reportText(saved.report));
        await writeAtomic(`${base}.json`, JSON.stringify({ name, ...saved }, null, 1) + "\n");
        await writeCsv();
      } catch (e) {
        // a full disk: this student stays ungraded (the same command grades them again), the rest go on
        console.log(
          `${JSON.stringify(name)}: the report could not be written: ${(e as Error).message}`,
        );
        continue;
      }
      finished++;
      console.log(
        `[${finished}/${todo.length}] ${JSON.stringify(name)}: ${
          saved.report
            ? `${saved.report.points.toFixed(1)} / ${saved.report.maxPoints}`
            : `not graded: ${saved.error}`
        }`,
      );
    }
  }));
  await writeCsv();
  // ids that would mislead a gradebook: missing ones, and one id in several folders
  const ids = new Map<string, string[]>();
  for (const name of dirs) {
    const id = (await done(name))?.report?.student;
    if (id) ids.set(id, [...(ids.get(id) ?? []), name]);
  }
  const anonymous = ids.get("anonymous") ?? [];
  if (anonymous.length) {
    console.log(
      `warning: no id in student.json: ${anonymous.map((n) => JSON.stringify(n)).join(", ")}`,
    );
  }
  for (const [id, names] of ids) {
    if (id !== "anonymous" && names.length > 1) {
      console.log(
        `warning: the id ${JSON.stringify(id)} is in ${names.length} submissions: ${
          names.map((n) => JSON.stringify(n)).join(", ")
        }`,
      );
    }
  }
  console.log(`wrote ${values.csv} and each student's report in ${out}/`);
} else {
  const dir = values.student ?? new URL("..", import.meta.url).pathname;
  if (!(await isSubmission(dir))) fail(`${dir} has no lib/ folder: is it a convkit submission?`);
  for (const f of [values.report, values.json, values.junit, values.gradescope]) await prepare(f);
  let id = values.id;
  if (!id && values["gradescope-metadata"]) {
    // Gradescope's submission_metadata.json: the submitter's email (or id) seeds the hidden cases
    try {
      const m = JSON.parse(await Deno.readTextFile(values["gradescope-metadata"]));
      const u = m?.users?.[0];
      id = String(u?.email ?? u?.sid ?? m?.id ?? "") || undefined;
    } catch { /* no metadata: student.json or "anonymous" */ }
  }
  let report: Report;
  try {
    report = await gradeSubmission({ submission: dir, student: id, timeLimitMs, only });
  } catch (e) {
    if (!(e instanceof GradeError)) throw e;
    fail(e.message);
  }
  const text = reportText(report);
  if (!values.quiet) console.log(text);
  if (values.report) await writeAtomic(values.report, text);
  if (values.json) await writeAtomic(values.json, JSON.stringify(report, null, 2) + "\n");
  if (values.junit) await writeAtomic(values.junit, reportJunit(report));
  if (values.gradescope) {
    await writeAtomic(values.gradescope, JSON.stringify(reportGradescope(report), null, 1) + "\n");
  }
}
