/**
 * `deno task grade`: grades a submission, or a whole class.
 *
 *     deno task grade                                  this tree (a student checking their work)
 *     deno task grade --student DIR [--id ID]          one submission
 *         [--report FILE] [--json FILE] [--junit FILE] [--time-limit SECONDS] [--only ex2.1,ex2.2]
 *     deno task grade --class DIR --csv FILE [--jobs N]  every folder in DIR, N at a time
 *
 * In the instructor's tree (with grading/hidden/) it runs visible and hidden tests against the reference
 * solution; in a student edition, the visible tests against grading/expected.json. Exits 0 when grading
 * finished, whatever the score; 2 on bad arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { gradeSubmission, type Report } from "./grader.ts";
import { reportJunit, reportsCsv, reportText } from "./report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    student: { type: "string" },
    id: { type: "string" },
    report: { type: "string" },
    json: { type: "string" },
    junit: { type: "string" },
    class: { type: "string" },
    csv: { type: "string" },
    jobs: { type: "string" },
    "time-limit": { type: "string" },
    only: { type: "string" },
    quiet: { type: "boolean" },
  },
});

function fail(msg: string): never {
  console.error(`grade: ${msg}`);
  Deno.exit(2);
}

const timeLimitMs = values["time-limit"] ? Number(values["time-limit"]) * 1000 : undefined;
if (timeLimitMs !== undefined && !(timeLimitMs > 0)) {
  fail(`--time-limit must be a number of seconds > 0`);
}
const only = values.only?.split(",").map((s) => s.trim());

async function writeAtomic(path: string, text: string) {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

async function isSubmission(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/lib`)).isDirectory;
  } catch {
    return false;
  }
}

if (values.class) {
  if (!values.csv) fail("--class needs --csv FILE for the scores");
  const dirs = [...Deno.readDirSync(values.class)].filter((e) => e.isDirectory).map((e) => e.name)
    .sort();
  const jobs = Math.max(1, Number(values.jobs ?? navigator.hardwareConcurrency ?? 2));
  const results: { name: string; report?: Report; error?: string }[] = new Array(dirs.length);
  let next = 0;
  console.log(`grading ${dirs.length} submissions in ${values.class}, ${jobs} at a time`);
  await Promise.all(Array.from({ length: Math.min(jobs, dirs.length) }, async () => {
    while (next < dirs.length) {
      const i = next++;
      const dir = `${values.class}/${dirs[i]}`;
      try {
        if (!(await isSubmission(dir))) throw new Error("no lib/ folder");
        const report = await gradeSubmission({ submission: dir, timeLimitMs, only });
        results[i] = { name: dirs[i], report };
        console.log(`${dirs[i]}: ${report.points.toFixed(1)} / ${report.maxPoints}`);
      } catch (e) {
        results[i] = { name: dirs[i], error: String((e as Error).message ?? e) };
        console.log(`${dirs[i]}: not graded: ${results[i].error}`);
      }
    }
  }));
  await writeAtomic(values.csv, reportsCsv(results));
  console.log(`wrote ${values.csv}`);
} else {
  const dir = values.student ?? new URL("..", import.meta.url).pathname;
  if (!(await isSubmission(dir))) fail(`${dir} has no lib/ folder: is it a convkit submission?`);
  const report = await gradeSubmission({ submission: dir, student: values.id, timeLimitMs, only });
  const text = reportText(report);
  if (!values.quiet) console.log(text);
  if (values.report) await writeAtomic(values.report, text);
  if (values.json) await writeAtomic(values.json, JSON.stringify(report, null, 2) + "\n");
  if (values.junit) await writeAtomic(values.junit, reportJunit(report));
}
