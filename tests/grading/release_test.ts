import assert from "node:assert/strict";
import { EXERCISES } from "../../grading/exercises.ts";
import {
  checkCoverage,
  checkRegions,
  type Region,
  release,
  releaseNotebook,
  stripSolutions,
} from "../../grading/release.ts";

// The release step as an instructor meets it: what it writes, what it refuses, what it never destroys.

const repo = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const tmp = await Deno.makeTempDir({ prefix: "convkit_release_test_" });
const edition = `${tmp}/student`;
await release(edition);

function walk(d: string, files: string[] = []): string[] {
  for (const e of Deno.readDirSync(d)) {
    e.isDirectory ? walk(`${d}/${e.name}`, files) : files.push(`${d}/${e.name}`);
  }
  return files;
}

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

Deno.test("stripSolutions() refuses near-miss markers: no space, wrong case, block comments", () => {
  for (const line of ["//BEGIN SOLUTION ex1", "// begin solution ex1", "/* END SOLUTION */"]) {
    assert.throws(
      () => stripSolutions(`function f() {\n  ${line}\n}\n`, "c.ts"),
      /c\.ts:2: .* looks like a solution marker but is not one/,
      line,
    );
  }
});

Deno.test("checkRegions() refuses a region no exercise grades, and an exercise without a region", () => {
  const found = new Map<string, Region[]>();
  for (const e of EXERCISES.filter((e) => e.id !== "ex7")) {
    const list = found.get(`lib/${e.file}`) ?? [];
    list.push({ id: e.id, what: "x", fn: e.fn, line: 1 });
    found.set(`lib/${e.file}`, list);
  }
  assert.deepEqual(checkRegions(found).length, 1);
  assert.match(checkRegions(found)[0], /ex7 .* has no marked region/);
  found.get("lib/layers/pool2d.ts")!.push({
    id: "ex99",
    what: "x",
    fn: "avgPool2dForward",
    line: 9,
  });
  found.get("lib/shape.ts")!.push({ id: "ex2.1", what: "x", fn: "samePad", line: 3 });
  const problems = checkRegions(found).join("\n");
  assert.match(problems, /lib\/layers\/pool2d\.ts:9: BEGIN SOLUTION ex99: no exercise "ex99"/);
  assert.match(problems, /lib\/shape\.ts:3: ex2\.1 is marked here, but .* lib\/layers\/conv2d\.ts/);
  assert.match(problems, /ex2\.1 is marked twice/);
});

Deno.test("checkRegions() does not blame the exercises of a file whose markers it could not read", () => {
  const found = new Map<string, Region[]>();
  for (const e of EXERCISES.filter((e) => e.file !== "layers/pool2d.ts")) {
    const list = found.get(`lib/${e.file}`) ?? [];
    list.push({ id: e.id, what: "x", fn: e.fn, line: 1 });
    found.set(`lib/${e.file}`, list);
  }
  assert.equal(checkRegions(found).length, 2); // ex3.1 and ex3.2 have no region...
  assert.deepEqual(checkRegions(found, new Set(["lib/layers/pool2d.ts"])), []); // ...as its bad marker said
});

Deno.test("checkCoverage() finds visible and hidden cases and a check cell for every exercise", async () => {
  assert.deepEqual(await checkCoverage(), []);
});

Deno.test("checkRegions() accepts this tree: every exercise marked once, points adding up to 100", () => {
  assert.equal(EXERCISES.reduce((a, e) => a + e.points, 0), 100);
});

Deno.test("releaseNotebook() clears outputs and refuses solution regions in cells", () => {
  const nb = {
    cells: [{
      cell_type: "code",
      source: ["const x = 1;\n"],
      outputs: [{ a: 1 }],
      execution_count: 3,
    }],
  };
  const { text } = releaseNotebook(JSON.stringify(nb), "n.ipynb");
  assert.deepEqual(JSON.parse(text).cells[0].outputs, []);
  nb.cells[0].source = ["// BEGIN SOLUTION warm-up x\n", "const x = 55;\n", "// END SOLUTION\n"];
  assert.throws(
    () => releaseNotebook(JSON.stringify(nb), "n.ipynb"),
    /n\.ipynb cell 1: BEGIN SOLUTION warm-up: exercises live in lib\//,
  );
});

Deno.test("release writes a student edition without solutions, hidden tests, expected outputs or outputs, that type-checks", async () => {
  const files = walk(edition);
  for (
    const banned of [
      "/grading/hidden/",
      "/tests/",
      "/bench/",
      "/.ci/",
      "expected.json",
      "/deploy/", // the class server's recipe: its tasks are not in the student's deno.json
      "/tools/hub_check.ts",
      "/tools/hub/",
      "/tools/image_check.ts",
    ]
  ) {
    assert.ok(!files.some((f) => f.includes(banned)), `${banned} was released`);
  }
  assert.ok(files.some((f) => f.endsWith("/tools/test.ts"))); // what the student's tasks run ships
  for (const f of files.filter((f) => f.endsWith(".ts") || f.endsWith(".ipynb"))) {
    const text = Deno.readTextFileSync(f);
    assert.doesNotMatch(text, /^\s*\/\/ BEGIN SOLUTION/m, `${f} still holds a solution`);
    if (f.endsWith(".ipynb")) assert.doesNotMatch(text, /"output_type"/, `${f} has outputs`);
  }
  const conv = Deno.readTextFileSync(`${edition}/lib/layers/conv2d.ts`);
  assert.doesNotMatch(conv, /sum \+= x\.data/); // the naive conv's inner product is gone
  assert.match(conv, /\/\/ BEGIN EXERCISE ex2\.1 /);
  assert.match(conv, /name: "NotImplementedError"/);
  assert.match(conv, /Exercise ex2\.1 \(conv2dForward\) is not implemented yet/);
  assert.match(Deno.readTextFileSync(`${edition}/README.md`), /student edition/i);
  const stubs = JSON.parse(Deno.readTextFileSync(`${edition}/grading/stubs.json`));
  assert.equal(stubs["lib/layers/conv2d.ts"], conv);
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
  await release(again, { force: true }); // an earlier release may be replaced
});

Deno.test("release never destroys: it refuses the tree itself, a folder holding it, one inside it, and folders that are not releases", async () => {
  Deno.symlinkSync(`${repo}/grading`, `${tmp}/link`);
  for (
    const out of [
      repo,
      `${repo}/.`,
      `${repo}/grading`,
      `${repo}/lib/x`,
      `${repo}/..`,
      "/",
      `${tmp}/link/new`,
    ]
  ) {
    await assert.rejects(() => release(out, { force: true }), /this tree/, out);
  }
  const precious = `${tmp}/precious`;
  Deno.mkdirSync(precious);
  Deno.writeTextFileSync(`${precious}/thesis.tex`, "years of work");
  await assert.rejects(() => release(precious, { force: true }), /not an earlier release/);
  assert.equal(Deno.readTextFileSync(`${precious}/thesis.tex`), "years of work");
  Deno.statSync(`${repo}/grading/hidden/cases.ts`); // still there
});

Deno.test("release --with-solutions keeps each solution between the student markers", async () => {
  const solved = `${tmp}/solved`;
  await release(solved, { solutions: true });
  const conv = Deno.readTextFileSync(`${solved}/lib/layers/conv2d.ts`);
  assert.match(conv, /\/\/ BEGIN EXERCISE ex2\.1 [^\n]*\n\s+const \{ n, h, w: width/);
  assert.doesNotMatch(conv, /NotImplementedError/);
  // the stubs it ships are those of the fresh edition
  assert.deepEqual(
    JSON.parse(Deno.readTextFileSync(`${solved}/grading/stubs.json`)),
    JSON.parse(Deno.readTextFileSync(`${edition}/grading/stubs.json`)),
  );
});

Deno.test("release ships only what git tracks: an untracked backup of a solution stays behind, named", async () => {
  const stray = `${repo}/lib/conv2d_solution_backup.ts`;
  Deno.writeTextFileSync(stray, "export const secret = 42;\n");
  try {
    const r = await release(`${tmp}/tracked`);
    assert.ok(r.untracked.includes("lib/conv2d_solution_backup.ts"));
    assert.throws(() => Deno.statSync(`${tmp}/tracked/lib/conv2d_solution_backup.ts`));
  } finally {
    Deno.removeSync(stray);
  }
});

Deno.test("zz cleanup", () => Deno.removeSync(tmp, { recursive: true }));
