/**
 * `deno task bench-grading [--students N] [--jobs J] [--quick]`: grades a generated class the way an
 * instructor would (`deno task grade --class`, a separate process) and measures it.
 *
 * The class (default 200 students): a quarter solved, a quarter fresh (nothing done), a quarter with one
 * planted mistake in a random exercise, and a quarter broken or hostile (a syntax error, an infinite loop,
 * a 3 GiB allocation, an output flood, a symlinked lib/). Half-way the run is killed with SIGKILL and the
 * same command is run again, which must grade only the students without a report. Prints submissions per
 * minute, the grader's peak memory (VmHWM of the grading process, the sandboxes apart), and checks that
 * every student has exactly one grade.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpSync } from "node:fs";
import { release } from "../grading/release.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    students: { type: "string" },
    jobs: { type: "string" },
    quick: { type: "boolean" },
  },
});
const students = Number(values.students ?? (values.quick ? 12 : 200));
const jobs = Number(values.jobs ?? navigator.hardwareConcurrency);
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const tmp = await Deno.makeTempDir({ prefix: "convkit_bench_grading_" });

/** A folder copied whole (node:fs, built into Deno). */
function copy(from: string, to: string) {
  cpSync(from, to, { recursive: true });
}

function patch(file: string, from: string, to: string) {
  const text = Deno.readTextFileSync(file);
  if (!text.includes(from)) throw new Error(`bench: ${from} not in ${file}`);
  Deno.writeTextFileSync(file, text.replace(from, to));
}

await release(`${tmp}/fresh`);
await release(`${tmp}/solved`, { solutions: true });
const mistakes: [string, string, string][] = [
  ["shape.ts", "const span = n - f + 2 * p;", "const span = n - f + p;"],
  ["layers/conv2d.ts", "dx[xi] += g * w.data[wi];", "dx[xi] += 2 * g * w.data[wi];"],
  ["layers/pool2d.ts", "dx[argmax[o]] += dout.data[o];", "dx[argmax[o]] -= dout.data[o];"],
  [
    "layers/conv2d.ts",
    "const iw = ow * stride - pad + j;",
    "const iw = ow * stride - pad + j + 1;",
  ],
];
const hostile: [string, string, string][] = [
  ["shape.ts", "export function conv2dInfo(", "export function conv2dInfo((("],
  ["models/counts.ts", "const groups = opts.groups ?? 1;", "while (true) { /* forever */ }"],
  [
    "models/counts.ts",
    "const groups = opts.groups ?? 1;",
    "const keep = []; for (let i = 0; i < 24; i++) keep.push(new Float64Array(2 ** 24).fill(i));\n  const groups = opts.groups ?? 1;",
  ],
  [
    "models/counts.ts",
    "const groups = opts.groups ?? 1;",
    'for (let i = 0; i < 200; i++) console.log("x".repeat(1 << 20));\n  const groups = opts.groups ?? 1;',
  ],
];
const cls = `${tmp}/class`;
for (let i = 0; i < students; i++) {
  const dir = `${cls}/student ${String(i).padStart(3, "0")}`;
  const kind = i % 4;
  if (kind === 1) copy(`${tmp}/fresh/lib`, `${dir}/lib`);
  else copy(`${tmp}/solved/lib`, `${dir}/lib`);
  if (kind === 2) {
    const [f, a, b] = mistakes[i % mistakes.length];
    patch(`${dir}/lib/${f}`, a, b);
  }
  if (kind === 3) {
    const h = Math.floor(i / 4) % (hostile.length + 1);
    if (h === hostile.length) {
      Deno.removeSync(`${dir}/lib`, { recursive: true });
      Deno.symlinkSync(`${root}/lib`, `${dir}/lib`);
    } else {
      const [f, a, b] = hostile[h];
      patch(`${dir}/lib/${f}`, a, b);
    }
  }
  Deno.writeTextFileSync(`${dir}/student.json`, JSON.stringify({ id: `s${i}` }));
}

const args = [
  "run",
  "-A",
  `${root}/grading/grade.ts`,
  "--class",
  cls,
  "--csv",
  `${tmp}/scores.csv`,
  "--jobs",
  String(jobs),
  "--time-limit",
  "10",
];

/** Runs the class command; kills it with SIGKILL after `killAfter` reports; returns time and peak memory. */
async function run(killAfter?: number) {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .spawn();
  let peak = 0, graded = 0, killed = false;
  const poll = setInterval(() => {
    try {
      const hwm = Deno.readTextFileSync(`/proc/${child.pid}/status`).match(/VmHWM:\s+(\d+)/);
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch { /* ended */ }
  }, 200);
  let log = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    log += chunk;
    graded = (log.match(/^\[\d+\/\d+\]/gm) ?? []).length;
    if (killAfter !== undefined && graded >= killAfter && !killed) {
      killed = true;
      child.kill("SIGKILL");
    }
  }
  await child.status;
  clearInterval(poll);
  return { seconds: (performance.now() - t0) / 1000, peak, graded, log };
}

const first = await run(Math.floor(students / 2));
const second = await run();
const rows = Deno.readTextFileSync(`${tmp}/scores.csv`).trim().split("\n").slice(1);
const reports = [...Deno.readDirSync(`${tmp}/scores.d`)].filter((e) => e.name.endsWith(".json"));
const total = first.graded + second.graded;
const minutes = (first.seconds + second.seconds) / 60;
console.log(`first run: ${first.graded} graded, then SIGKILL (${first.seconds.toFixed(0)} s)`);
console.log(`second run (same command): ${second.graded} graded (${second.seconds.toFixed(0)} s)`);
console.log(
  `${students} students on ${navigator.hardwareConcurrency} cores, ${jobs} at a time: ` +
    `${(total / minutes).toFixed(1)} submissions/min; grader peak memory ${
      (Math.max(first.peak, second.peak) / 2 ** 20).toFixed(0)
    } MiB; ${rows.length} rows in the CSV, ${reports.length} reports, ${
      total - students
    } graded twice`,
);
// what each kind of student scored (the solved ones must have every point)
const kinds = ["solved", "fresh", "one mistake", "broken or hostile"];
const byKind = kinds.map(() => [] as number[]);
for (const row of rows) {
  const [name, , points] = row.split(",");
  const i = Number(name.replace(/\D/g, ""));
  byKind[i % 4].push(Number(points));
}
console.log(
  kinds.map((k, i) =>
    `${k}: ${
      (byKind[i].reduce((a, b) => a + b, 0) / Math.max(1, byKind[i].length)).toFixed(1)
    } points on average`
  ).join("; "),
);
const solvedOk = byKind[0].every((p) => p === 100);
await Deno.remove(tmp, { recursive: true });
if (!solvedOk) {
  console.error("bench-grading: a solved submission did not score 100");
  Deno.exit(1);
}
if (rows.length !== students || reports.length !== students || total > students + jobs) {
  console.error("bench-grading: a grade is missing or was graded twice");
  Deno.exit(1);
}
