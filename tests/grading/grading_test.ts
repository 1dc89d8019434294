import assert from "node:assert/strict";
import { EXERCISES } from "../../grading/exercises.ts";
import { gradeSubmission, type Report } from "../../grading/grader.ts";
import { release, releaseNotebook, stripSolutions } from "../../grading/release.ts";
import { reportJunit, reportsCsv } from "../../grading/report.ts";

// End-to-end tests of the assignment workflow: release, grade, sandbox. Each grade starts one sandboxed
// Deno process per exercise.

const repo = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const tmp = await Deno.makeTempDir({ prefix: "convkit_grading_test_" });
const edition = `${tmp}/student`;
await release(edition);

function copyDir(from: string, to: string) {
  Deno.mkdirSync(to, { recursive: true });
  for (const e of Deno.readDirSync(from)) {
    if (e.isDirectory) copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) Deno.copyFileSync(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** A submission made of the instructor's lib with some files patched. */
function submission(name: string, patch: (lib: string) => void): string {
  const dir = `${tmp}/${name}`;
  copyDir(`${repo}/lib`, `${dir}/lib`);
  patch(`${dir}/lib`);
  return dir;
}

function replaceIn(file: string, from: string | RegExp, to: string) {
  const text = Deno.readTextFileSync(file);
  const next = text.replace(from, to);
  assert.notEqual(next, text, `patch did not apply to ${file}`);
  Deno.writeTextFileSync(file, next);
}

const byId = (r: Report) => Object.fromEntries(r.exercises.map((e) => [e.id, e]));
const full = EXERCISES.reduce((s, e) => s + e.points, 0);
const points = (id: string) => EXERCISES.find((e) => e.id === id)!.points;

Deno.test("stripSolutions() refuses unbalanced markers, naming file and line", () => {
  assert.throws(
    () => stripSolutions("  // BEGIN SOLUTION ex1 x\n  return 1;\n", "a.ts"),
    /a\.ts:1: BEGIN SOLUTION ex1 is never closed/,
  );
  assert.throws(
    () => stripSolutions("  // END SOLUTION\n", "b.ts"),
    /b\.ts:1: END SOLUTION without BEGIN/,
  );
});

Deno.test("releaseNotebook() turns a marked cell region into a TODO and clears outputs", () => {
  const nb = {
    cells: [{
      cell_type: "code",
      source: [
        "// BEGIN SOLUTION warm-up Set x to 55.\n",
        "const x = 55;\n",
        "// END SOLUTION\n",
        "x",
      ],
      outputs: [{ output_type: "stream", text: "55" }],
      execution_count: 3,
    }],
  };
  const { text, exercises } = releaseNotebook(JSON.stringify(nb), "n.ipynb");
  const cell = JSON.parse(text).cells[0];
  assert.deepEqual(exercises, ["warm-up"]);
  assert.deepEqual(cell.outputs, []);
  assert.equal(cell.execution_count, null);
  const src = cell.source.join("");
  assert.match(src, /\/\/ TODO warm-up: Set x to 55\./);
  assert.doesNotMatch(src, /const x = 55/);
});

Deno.test("release writes a student edition without solutions, hidden tests or outputs, that type-checks", async () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      e.isDirectory ? walk(`${d}/${e.name}`) : files.push(`${d}/${e.name}`);
    }
  };
  walk(edition);
  assert.ok(!files.some((f) => f.includes("/grading/hidden/")), "hidden tests were released");
  for (const f of files.filter((f) => f.endsWith(".ts") || f.endsWith(".ipynb"))) {
    const text = Deno.readTextFileSync(f);
    assert.doesNotMatch(text, /^\s*\/\/ BEGIN SOLUTION/m, `${f} still holds a solution`);
    if (f.endsWith(".ipynb")) assert.doesNotMatch(text, /"output_type"/, `${f} has outputs`);
  }
  // the solutions' code is gone: e.g. the naive conv's inner product
  assert.doesNotMatch(Deno.readTextFileSync(`${edition}/lib/layers/conv2d.ts`), /sum \+= x\.data/);
  assert.match(
    Deno.readTextFileSync(`${edition}/lib/layers/conv2d.ts`),
    /Exercise ex2\.1 \(conv2dForward\) is not implemented yet/,
  );
  assert.ok(files.includes(`${edition}/grading/expected.json`));
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", "lib/", "grading/"],
    cwd: edition,
    stderr: "piped",
  }).output();
  assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
});

Deno.test("release is deterministic: releasing twice gives identical files", async () => {
  const again = `${tmp}/student_again`;
  await release(again);
  const diff = await new Deno.Command("diff", { args: ["-r", edition, again], stdout: "piped" })
    .output();
  assert.equal(diff.code, 0, new TextDecoder().decode(diff.stdout).slice(0, 2000));
  await assert.rejects(() => release(again), /exists; pass --force/); // nothing is overwritten by accident
});

Deno.test("the instructor edition scores full marks on visible and hidden tests", async () => {
  const r = await gradeSubmission({ submission: repo, student: "instructor" });
  assert.equal(r.mode, "instructor");
  assert.equal(r.points, full);
  assert.equal(r.maxPoints, 100);
  assert.ok(
    r.exercises.every((e) => e.cases.some((c) => c.hidden) && e.cases.some((c) => !c.hidden)),
  );
});

Deno.test("a fresh student edition scores 0, and the grader still finishes with its reports", async () => {
  const r = await gradeSubmission({ submission: edition, student: "alice" });
  assert.equal(r.points, 0);
  assert.equal(r.exercises.length, EXERCISES.length);
  const conv = byId(r)["ex2.1"].cases.find((c) => !c.hidden)!;
  assert.match(conv.message!, /Exercise ex1 \(convOutputSize\) is not implemented yet/);
  // hidden cases say only that they failed
  for (const c of r.exercises.flatMap((e) => e.cases).filter((c) => c.hidden)) {
    assert.match(c.name, /^hidden case \d+$/);
    assert.ok(
      ["error", "wrong output", "timed out", "no result", "permission denied"].includes(c.message!),
      c.message,
    );
  }
  const junit = reportJunit(r);
  assert.match(junit, /<testsuites name="convkit grade alice" tests="\d+" failures="\d+">/);
  // the student edition grading itself: visible tests against the shipped expected outputs
  const self = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "grading/grade.ts", "--json", `${tmp}/self.json`, "--quiet"],
    cwd: edition,
  }).output();
  assert.equal(self.code, 0);
  const selfReport: Report = JSON.parse(Deno.readTextFileSync(`${tmp}/self.json`));
  assert.equal(selfReport.mode, "self");
  assert.equal(selfReport.points, 0);
  assert.ok(selfReport.exercises.every((e) => e.cases.every((c) => !c.hidden)));
});

Deno.test("a planted wrong conv backward loses exactly the conv-backward points", async () => {
  const dir = submission(
    "wrong_backward",
    (lib) =>
      replaceIn(
        `${lib}/layers/conv2d.ts`,
        "dx[xi] += g * w.data[wi];",
        "dx[xi] += 2 * g * w.data[wi];",
      ),
  );
  const r = await gradeSubmission({ submission: dir, student: "bob" });
  assert.equal(byId(r)["ex2.2"].points, 0);
  assert.equal(r.points, full - points("ex2.2"));
  const visible = byId(r)["ex2.2"].cases.find((c) => !c.hidden)!;
  assert.match(visible.message!, /bwd\.dx: relative error/);
});

Deno.test("an infinite loop times out in its own exercise while the others are graded", async () => {
  const dir = submission(
    "infinite_loop",
    (lib) =>
      replaceIn(
        `${lib}/models/counts.ts`,
        "const groups = opts.groups ?? 1;",
        "const groups = opts.groups ?? 1;\n  while (groups > 0) { /* forever */ }",
      ),
  );
  const t0 = performance.now();
  const r = await gradeSubmission({ submission: dir, student: "carol", timeLimitMs: 4000 });
  const ex7 = byId(r)["ex7"];
  assert.ok(ex7.timedOut);
  assert.equal(ex7.points, 0);
  assert.ok(ex7.cases.every((c) => /timed out/.test(c.message!)));
  assert.equal(r.points, full - points("ex7"));
  assert.ok(performance.now() - t0 < 60_000);
});

Deno.test("a submission that reads hidden tests or solutions, uses the network or runs a process is denied and reported", async () => {
  const hiddenFile = `${repo}/grading/hidden/cases.ts`, solution = `${repo}/lib/layers/conv2d.ts`;
  const dir = submission("malicious", (lib) => {
    replaceIn(
      `${lib}/layers/pool2d.ts`,
      'const info = check("maxPool2dForward", x, opts);',
      `Deno.readTextFileSync(${
        JSON.stringify(hiddenFile)
      });\n  const info = check("maxPool2dForward", x, opts);`,
    );
    replaceIn(
      `${lib}/layers/conv2d.ts`,
      'const info = conv2dCheck("conv2dForward", x, w, b, opts);',
      `Deno.readTextFileSync(${
        JSON.stringify(solution)
      });\n  const info = conv2dCheck("conv2dForward", x, w, b, opts);`,
    );
    replaceIn(
      `${lib}/models/three_layer_convnet.ts`,
      "const pad = samePad(W1.shape[0]);",
      'new Deno.Command("ls").outputSync();\n  const pad = samePad(W1.shape[0]);',
    );
    replaceIn(
      `${lib}/models/counts.ts`,
      "const groups = opts.groups ?? 1;",
      // the first fetch is not awaited: its rejection must not end the sandbox; the second is returned
      'fetch("http://127.0.0.1:45999/");\n  if (where) return fetch("http://127.0.0.1:45999/").then(() => { throw new Error("fetched"); }) as never;\n  const groups = opts.groups ?? 1;',
    );
    replaceIn(
      `${lib}/layers/batchnorm.ts`,
      'const where = "spatialBatchnormForward";',
      `const where = "spatialBatchnormForward";\n  Deno.writeTextFileSync(${
        JSON.stringify(`${tmp}/pwned.txt`)
      }, "x");`,
    );
  });
  const r = await gradeSubmission({ submission: dir, student: "mallory" });
  const ex = byId(r);
  for (const id of ["ex2.1", "ex3.1", "ex5.1", "ex6", "ex7"]) assert.equal(ex[id].points, 0, id);
  const denied = r.denied.join("\n");
  assert.match(denied, /ex3\.1: .*Requires read access to ".*grading\/hidden\/cases\.ts"/);
  assert.match(denied, /ex2\.1: .*Requires read access to ".*lib\/layers\/conv2d\.ts"/);
  assert.match(denied, /ex6: .*Requires run access/);
  assert.match(denied, /ex7: .*Requires net access/);
  assert.match(denied, /ex5\.1: .*Requires write access/);
  assert.throws(() => Deno.statSync(`${tmp}/pwned.txt`)); // nothing was written
  assert.equal(ex["ex1"].points, points("ex1")); // untouched exercises keep their points
  assert.ok(
    r.exercises.flatMap((e) => e.cases).filter((c) => c.hidden && c.denied).every((c) =>
      c.message === "permission denied"
    ),
  );
});

Deno.test("grade --class grades every submission in parallel into one CSV; a broken one does not stop the rest", async () => {
  const cls = `${tmp}/class`;
  copyDir(`${repo}/lib`, `${cls}/ann/lib`);
  copyDir(`${edition}/lib`, `${cls}/ben/lib`);
  copyDir(`${repo}/lib`, `${cls}/cat/lib`);
  Deno.writeTextFileSync(
    `${cls}/cat/lib/im2col.ts`,
    "export function im2col( {{{ this is not TypeScript",
  );
  Deno.mkdirSync(`${cls}/dan`); // no lib/ at all
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${repo}/grading/grade.ts`,
      "--class",
      cls,
      "--csv",
      `${tmp}/class.csv`,
      "--jobs",
      "2",
      "--time-limit",
      "20",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const rows = Deno.readTextFileSync(`${tmp}/class.csv`).trim().split("\n").map((l) =>
    l.split(",")
  );
  assert.equal(rows[0][0], "submission");
  const row = (name: string) => rows.find((r) => r[0] === name)!;
  assert.equal(row("ann")[2], String(full));
  assert.equal(row("ben")[2], "0");
  const catPoints = Number(row("cat")[2]);
  assert.equal(catPoints, full - points("ex4.1") - points("ex4.2")); // only the exercises in the broken file
  assert.match(row("dan").at(-1)!, /no lib\/ folder/);
  assert.match(reportsCsv([{ name: "x", error: "boom" }]), /x,,0,,boom/);
});

Deno.test("checkExercise() reloads the student's file: a fix shows without restarting", async () => {
  const dir = `${tmp}/reload`;
  copyDir(edition, dir);
  const script = `${dir}/reload_check.ts`;
  Deno.writeTextFileSync(
    script,
    `import { checkExercise } from "./grading/check.ts";
const before = await checkExercise("ex1");
Deno.writeTextFileSync(new URL("./lib/shape.ts", import.meta.url), Deno.readTextFileSync(${
      JSON.stringify(`${repo}/lib/shape.ts`)
    }));
const after = await checkExercise("ex1");
console.log(JSON.stringify({ before: before.passed, after: after.passed }));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!), {
    before: false,
    after: true,
  });
});

Deno.test("zz cleanup", () => Deno.removeSync(tmp, { recursive: true }));
