import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { EXERCISES } from "../../grading/exercises.ts";
import { gradeSubmission, type Report } from "../../grading/grader.ts";
import { visibleCases } from "../../grading/cases.ts";
import { decode, runProgram, type Value } from "../../grading/program.ts";
import { libraryImporter } from "../../grading/reference.ts";
import { release } from "../../grading/release.ts";
import { reportJunit, reportsCsv, reportText } from "../../grading/report.ts";

// End-to-end tests of the assignment workflow: release, grade, sandbox, as a class would use them: a fresh
// student edition, a solved one, and solved ones with one planted mistake. Each grade starts two sandboxed
// Deno processes per exercise (visible and hidden cases).

const repo = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const tmp = await Deno.makeTempDir({ prefix: "convkit_grading_test_" });
const edition = `${tmp}/student`;
const solved = `${tmp}/solved`;
await release(edition);
await release(solved, { solutions: true });

/** A folder copied whole (node:fs, built into Deno). */
function copyDir(from: string, to: string) {
  cpSync(from, to, { recursive: true });
}

/** A submission made of the solved student edition's lib with some files patched. */
function submission(name: string, patch: (lib: string) => void): string {
  const dir = `${tmp}/${name}`;
  copyDir(`${solved}/lib`, `${dir}/lib`);
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

Deno.test("a solved student edition scores full marks on visible and hidden tests", async () => {
  const r = await gradeSubmission({ submission: solved, student: "instructor" });
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
  // each exercise's feedback names its own stub, in its own file
  for (const e of EXERCISES) {
    const visible = byId(r)[e.id].cases.filter((c) => !c.hidden);
    for (const c of visible) {
      assert.equal(
        c.message,
        `not written yet: replace the throw under "TODO ${e.id}" in lib/${e.file}`,
      );
    }
  }
  // hidden cases say only that they failed, and what kind of case they are
  for (const c of r.exercises.flatMap((e) => e.cases).filter((c) => c.hidden)) {
    assert.match(c.name, /^hidden case \d+ \(.+\)$/);
    assert.equal(c.message, "not written yet");
  }
  const junit = reportJunit(r);
  assert.match(junit, /<testsuites name="convkit grade alice" tests="\d+" failures="\d+">/);
  // the student edition grading itself: visible tests against the library's ops
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
  assert.match(visible.message!, /bwd\.dx: every value is 2\.00x the right one/);
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
  copyDir(`${solved}/lib`, `${cls}/ann/lib`);
  copyDir(`${edition}/lib`, `${cls}/ben/lib`);
  copyDir(`${solved}/lib`, `${cls}/cat/lib`);
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
      "--gradebook",
      `${tmp}/canvas.csv`,
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
  const canvas = Deno.readTextFileSync(`${tmp}/canvas.csv`).trim().split("\n");
  assert.equal(canvas[0], "Student,ID,SIS User ID,SIS Login ID,Section,convkit assignment");
  assert.equal(canvas.length, 5); // one row per folder, ungraded ones with an empty cell
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
      JSON.stringify(`${solved}/lib/shape.ts`)
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

Deno.test("the solved edition grading itself (deno task grade there) scores full marks on the visible tests", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "grading/grade.ts", "--json", `${tmp}/solved_self.json`, "--quiet"],
    cwd: solved,
  }).output();
  assert.equal(out.code, 0);
  const r: Report = JSON.parse(Deno.readTextFileSync(`${tmp}/solved_self.json`));
  assert.equal(r.mode, "self");
  assert.equal(r.points, full);
});

Deno.test("one mistake costs only its exercise: ex1 without the 2 of (n - f + 2p)", async () => {
  const dir = submission(
    "one_mistake",
    (lib) => replaceIn(`${lib}/shape.ts`, "const span = n - f + 2 * p;", "const span = n - f + p;"),
  );
  const r = await gradeSubmission({ submission: dir, student: "dave" });
  assert.ok(byId(r)["ex1"].points < points("ex1"));
  for (const e of EXERCISES.filter((e) => e.id !== "ex1")) {
    assert.equal(byId(r)[e.id].points, e.points, e.id);
  }
  // a padded hidden case catches it: hidden cases carry 70% of the points
  assert.ok(byId(r)["ex1"].cases.some((c) => c.hidden && !c.passed));
});

Deno.test("a syntax error in one file costs only the exercises in that file", async () => {
  const dir = submission(
    "syntax",
    (lib) =>
      replaceIn(`${lib}/shape.ts`, "export function conv2dInfo(", "export function conv2dInfo((("),
  );
  const r = await gradeSubmission({ submission: dir, student: "erin" });
  assert.equal(byId(r)["ex1"].points, 0);
  assert.equal(r.points, full - points("ex1"));
});

Deno.test("in a student edition, a syntax error in lib/shape.ts still leaves a report: the grader loads no exercise file itself", async () => {
  const dir = `${tmp}/self_syntax`;
  copyDir(solved, dir);
  Deno.writeTextFileSync(`${dir}/lib/shape.ts`, "export const x = ((;\n", { append: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "grading/grade.ts", "--json", `${tmp}/self_syntax.json`, "--quiet"],
    cwd: dir,
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r: Report = JSON.parse(Deno.readTextFileSync(`${tmp}/self_syntax.json`));
  assert.equal(byId(r)["ex1"].points, 0);
  for (const id of ["ex5.1", "ex5.2", "ex7"]) assert.equal(byId(r)[id].points, points(id), id);
});

Deno.test("delegating an exercise to another function earns nothing", async () => {
  const dir = submission("delegate", (lib) => {
    // ex2.1 by the im2col path, ex1 by the model arithmetic of spec.ts, ex3.2 by the library's tfjs layer
    const swap = (file: string, id: string, body: string, imp: string) => {
      const text = Deno.readTextFileSync(`${lib}/${file}`);
      const i = text.indexOf(`// BEGIN EXERCISE ${id}`), j = text.indexOf(`// END EXERCISE ${id}`);
      Deno.writeTextFileSync(
        `${lib}/${file}`,
        `${imp}\n${text.slice(0, i)}// BEGIN EXERCISE ${id}\n  ${body}\n  ${text.slice(j)}`,
      );
    };
    swap(
      "layers/conv2d.ts",
      "ex2.1",
      "return conv2dForwardIm2col(x, w, b, opts);",
      'import { conv2dForwardIm2col } from "./conv2d_im2col.ts";',
    );
    swap(
      "shape.ts",
      "ex1",
      "return windowOut(n, f, s, p);",
      'import { windowOut } from "./models/spec.ts";',
    );
    swap(
      "im2col.ts",
      "ex4.1",
      "return im2colOf(x, info);",
      'const im2colOf = (x: unknown, info: unknown) => (globalThis as any).__convkitReplay("ex4.2", [x, info]);',
    );
  });
  const r = await gradeSubmission({ submission: dir, student: "frank" });
  for (const id of ["ex1", "ex2.1", "ex4.1"]) assert.equal(byId(r)[id].points, 0, id);
  const msg = byId(r)["ex2.1"].cases[0].message!;
  assert.match(
    msg,
    /lib\/layers\/conv2d\.ts imports \.\/conv2d_im2col\.ts, which ex2\.1 may not use/,
  );
  // no grader path in feedback
  assert.doesNotMatch(reportText(r).split("\n").slice(1).join("\n"), /convkit_grade_|\/tmp\//);
});

Deno.test("a table of remembered visible outputs earns no visible points: inputs change at each run", async () => {
  // the conv outputs of one run's visible cases, looked up by the input's first value
  const remembered: Record<string, number[]> = {};
  for (const c of visibleCases("run-1").filter((c) => c.exercise === "ex2.1")) {
    const ref = await runProgram(c.program, libraryImporter);
    assert.ok(ref.ok);
    const x = decode((c.program.steps[0].args[0] as { value: Value }).value) as { data: number[] };
    const out = decode(ref.outputs["fwd.out"]) as { data: Float64Array };
    remembered[String(x.data[0])] = [...out.data];
  }
  const dir = submission("memorized", (lib) => {
    const text = Deno.readTextFileSync(`${lib}/layers/conv2d.ts`);
    const i = text.indexOf("// BEGIN EXERCISE ex2.1"), j = text.indexOf("// END EXERCISE ex2.1");
    Deno.writeTextFileSync(
      `${lib}/layers/conv2d.ts`,
      `${text.slice(0, i)}// BEGIN EXERCISE ex2.1
  const seen: Record<string, number[]> = ${JSON.stringify(remembered)};
  const data = Float64Array.from(seen[String(x.data[0])] ?? new Array(info.n * info.outH * info.outW * info.k).fill(0));
  return { out: { data, shape: [info.n, info.outH, info.outW, info.k] }, cache: { layer: "conv2d", x, w, b, info } };
  ${text.slice(j)}`,
    );
  });
  const visible = (r: Report) => byId(r)["ex2.1"].cases.filter((c) => !c.hidden && c.passed).length;
  const same = await gradeSubmission({
    submission: dir,
    student: "h",
    only: ["ex2.1"],
    seed: "run-1",
  });
  assert.equal(visible(same), 2); // the table does answer the run it was copied from
  const next = await gradeSubmission({
    submission: dir,
    student: "h",
    only: ["ex2.1"],
    seed: "run-2",
  });
  assert.equal(visible(next), 0);
  assert.equal(byId(next)["ex2.1"].points, 0);
  const fresh = await gradeSubmission({ submission: dir, student: "h", only: ["ex2.1"] });
  assert.equal(visible(fresh), 0); // the default: a fresh seed every run
});

Deno.test("each kind of mistake gets its own message", async () => {
  const dir = submission("kinds", (lib) => {
    replaceIn(
      `${lib}/layers/conv2d.ts`,
      "const iw = ow * stride - pad + j;",
      "const iw = ow * stride - pad + j + 1;",
    );
    replaceIn(
      `${lib}/layers/pool2d.ts`,
      "dx[argmax[o]] += dout.data[o];",
      "dx[argmax[o]] -= dout.data[o];",
    );
  });
  const r = await gradeSubmission({
    submission: dir,
    student: "gina",
    only: ["ex2.1", "ex3.2"],
    seed: "kinds",
  });
  assert.match(byId(r)["ex2.1"].cases[0].message!, /shifted by one position along the width/);
  assert.match(byId(r)["ex3.2"].cases[0].message!, /sign flipped/);
  const rows = submission(
    "rows",
    (lib) =>
      replaceIn(
        `${lib}/layers/conv2d.ts`,
        "for (let oh = 0; oh < outH; oh++) {",
        "for (let oh = 0; oh < outH - 1; oh++) {",
      ),
  );
  const r2 = await gradeSubmission({
    submission: rows,
    student: "gina",
    only: ["ex2.1"],
    seed: "kinds",
  });
  assert.match(byId(r2)["ex2.1"].cases[0].message!, /wrong only on the last row/);
  const both = submission("both", (lib) => {
    replaceIn(
      `${lib}/layers/conv2d.ts`,
      "const iw = ow * stride - pad + j;",
      "const iw = ow * stride - pad + j + 1;",
    );
    replaceIn(
      `${lib}/layers/conv2d.ts`,
      "const ih = oh * stride - pad + i;",
      "const ih = oh * stride - pad + i + 1;",
    );
  });
  const r4 = await gradeSubmission({
    submission: both,
    student: "gina",
    only: ["ex2.1"],
    seed: "kinds",
  });
  assert.match(
    byId(r4)["ex2.1"].cases[0].message!,
    /shifted by one position along both the height and the width/,
  );
  const zero = submission(
    "zero",
    (lib) => {
      // a running maximum started at 0: windows of negative values pool to 0
      replaceIn(
        `${lib}/layers/pool2d.ts`,
        "let best = -Infinity, bestAt = -1;",
        "let best = 0, bestAt = -1;",
      );
      replaceIn(`${lib}/layers/pool2d.ts`, "if (bestAt < 0 || v > best", "if (v > best");
    },
  );
  // the seed is fixed so that some window is all negative (1 in 16 is, with 24 windows a grading)
  const r5 = await gradeSubmission({
    submission: zero,
    student: "gina",
    only: ["ex3.1"],
    seed: "zero-1",
  });
  assert.ok(!byId(r5)["ex3.1"].cases[0].passed, "the planted bug went unnoticed");
  assert.doesNotMatch(byId(r5)["ex3.1"].cases[0].message!, /check the padding/); // pooling has none
  const shape = submission(
    "shape",
    (lib) =>
      replaceIn(
        `${lib}/layers/conv2d.ts`,
        "out: { data: out, shape: [n, outH, outW, k] }",
        "out: { data: out, shape: [n, outH * outW, 1, k] }",
      ),
  );
  const r3 = await gradeSubmission({
    submission: shape,
    student: "gina",
    only: ["ex2.1"],
    seed: "kinds",
  });
  assert.match(byId(r3)["ex2.1"].cases[0].message!, /has shape .* expected/);
});

Deno.test("zz cleanup", () => Deno.removeSync(tmp, { recursive: true }));
