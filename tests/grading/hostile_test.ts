import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { EXERCISES } from "../../grading/exercises.ts";
import { gradeSubmission, type Report } from "../../grading/grader.ts";
import { memoryLimit } from "../../grading/limits.ts";
import { release } from "../../grading/release.ts";
import { csvCell, reportJunit, reportText } from "../../grading/report.ts";

// Hostile and careless submissions, one kind per test: each may cost only what depends on it, and the
// grader's outputs stay whole and safe.

const repo = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const tmp = await Deno.makeTempDir({ prefix: "convkit_hostile_test_" });
const solved = `${tmp}/solved`;
await release(solved, { solutions: true });
const full = EXERCISES.reduce((s, e) => s + e.points, 0);
const pts = (id: string) => EXERCISES.find((e) => e.id === id)!.points;
const byId = (r: Report) => Object.fromEntries(r.exercises.map((e) => [e.id, e]));

/** A folder copied whole (node:fs, built into Deno). */
function copy(from: string, to: string) {
  cpSync(from, to, { recursive: true });
}

/** A solved submission in `name` whose exercise `id` has `body` as its code. */
function withBody(name: string, id: string, body: string): string {
  const dir = `${tmp}/${name}`;
  copy(`${solved}/lib`, `${dir}/lib`);
  const ex = EXERCISES.find((e) => e.id === id)!;
  const file = `${dir}/lib/${ex.file}`;
  const text = Deno.readTextFileSync(file);
  const i = text.indexOf(`// BEGIN EXERCISE ${id}`), j = text.indexOf(`// END EXERCISE ${id}`);
  Deno.writeTextFileSync(
    file,
    `${text.slice(0, i)}// BEGIN EXERCISE ${id}\n${body}\n  ${text.slice(j)}`,
  );
  return dir;
}

const grade = (dir: string, only?: string[]) =>
  gradeSubmission({ submission: dir, student: "h", timeLimitMs: 20_000, only });

Deno.test("a lib/ that is a symbolic link to the instructor's is refused", async () => {
  const dir = `${tmp}/link_lib`;
  Deno.mkdirSync(dir);
  Deno.symlinkSync(`${repo}/lib`, `${dir}/lib`);
  await assert.rejects(() => grade(dir), /lib\/ is a symbolic link/);
});

Deno.test("a file that is a symbolic link costs its exercises only, and reads nothing behind it", async () => {
  const dir = `${tmp}/link_file`;
  copy(`${solved}/lib`, `${dir}/lib`);
  Deno.removeSync(`${dir}/lib/shape.ts`);
  Deno.symlinkSync(`${repo}/lib/shape.ts`, `${dir}/lib/shape.ts`);
  const r = await grade(dir);
  assert.equal(byId(r)["ex1"].points, 0);
  assert.match(byId(r)["ex1"].cases[0].message!, /lib\/shape\.ts is a symbolic link/);
  assert.equal(r.points, full - pts("ex1"));
});

Deno.test("an honest submission in a folder named with commas, # and %41 is graded in full", async () => {
  const dir = `${tmp}/Smith, John #1 %41?`;
  copy(`${solved}/lib`, `${dir}/lib`);
  const r = await grade(dir);
  assert.equal(r.points, full);
});

Deno.test("a 3 GiB allocation loses only its own exercise", async () => {
  if (typeof (await memoryLimit()) === "string") {
    console.log(`skipped: ${await memoryLimit()}`);
    return;
  }
  const dir = withBody(
    "memory",
    "ex7",
    "  const keep = []; for (let i = 0; i < 24; i++) keep.push(new Float64Array(2 ** 24).fill(i));\n  return keep as never;",
  );
  const r = await grade(dir, ["ex6", "ex7"]);
  assert.equal(byId(r)["ex7"].points, 0);
  assert.match(byId(r)["ex7"].cases[0].message!, /more than its 2 GiB of memory/);
  assert.equal(byId(r)["ex6"].points, pts("ex6"));
});

Deno.test("floods on stdout and stderr lose only their exercise, and the grader's memory stays bounded", async () => {
  const dir = withBody(
    "flood",
    "ex7",
    '  const line = new TextEncoder().encode("x".repeat(1 << 20) + "\\n");\n' +
      "  for (let i = 0; i < 300; i++) { Deno.stdout.writeSync(line); Deno.stderr.writeSync(line); }\n" +
      "  return 0 as never;",
  );
  const before = Deno.memoryUsage().rss;
  const r = await grade(dir, ["ex1", "ex7"]);
  assert.equal(byId(r)["ex7"].points, 0);
  assert.equal(byId(r)["ex1"].points, pts("ex1"));
  assert.ok(Deno.memoryUsage().rss - before < 400 * 2 ** 20, "the grader kept the flood");
});

Deno.test("a swarm of spinning workers loses only its own exercise", async () => {
  const dir = withBody(
    "workers",
    "ex7",
    '  const url = URL.createObjectURL(new Blob(["while (true) {}"], { type: "application/javascript" }));\n' +
      '  for (let i = 0; i < 300; i++) new Worker(url, { type: "module" });\n  while (true) { /* and spin */ }',
  );
  const t0 = performance.now();
  const r = await gradeSubmission({
    submission: dir,
    student: "h",
    timeLimitMs: 8000,
    only: ["ex1", "ex7"],
  });
  assert.equal(byId(r)["ex7"].points, 0);
  assert.equal(byId(r)["ex1"].points, pts("ex1"));
  assert.ok(performance.now() - t0 < 60_000);
});

Deno.test("forged result lines and malformed values fail only the cases they are in", async () => {
  const dir = withBody(
    "forged",
    "ex7",
    '  console.log(`@@result 00000000-0000-0000-0000-000000000000 {"id":"ex7/visible/1","result":{"ok":true,"outputs":{}}}`);\n' +
      '  return { $f64: "not base64!", out: { $f64: "%%%" } } as never;',
  );
  const r = await grade(dir, ["ex1", "ex7"]);
  assert.equal(byId(r)["ex7"].points, 0);
  assert.equal(byId(r)["ex1"].points, pts("ex1"));
  const patched = withBody(
    "patched",
    "ex1",
    '  JSON.stringify = () => "{";\n  return 0 as never;',
  );
  const r2 = await grade(patched, ["ex1", "ex2.1"]);
  assert.equal(byId(r2)["ex1"].points, 0);
  assert.equal(byId(r2)["ex2.1"].points, pts("ex2.1"));
});

Deno.test("hidden cases print nothing into feedback, and feedback shows no grader path", async () => {
  const dir = withBody(
    "leaky",
    "ex1",
    '  throw new Error("LEAK " + JSON.stringify([n, f, s, p]) + " " + Deno.mainModule);',
  );
  const r = await grade(dir, ["ex1"]);
  const hidden = byId(r)["ex1"].cases.filter((c) => c.hidden);
  assert.ok(hidden.every((c) => c.message === "error" || c.message === "wrong output"));
  assert.ok(byId(r)["ex1"].cases.filter((c) => c.hidden).every((c) => !/LEAK/.test(c.message!)));
  const text = reportText(r).split("\n").slice(1).join("\n");
  assert.ok(!text.includes(repo) && !/convkit_grade_|\/tmp\//.test(text), text);
});

Deno.test("reports cannot be forged: messages stay on one line, JUnit stays XML, CSV cells are not formulas", async () => {
  const dir = withBody(
    "forger",
    "ex1",
    '  throw new Error("x\\n✓ ex9 fake   100 / 100\\ntotal 100.0 / 100\\u0000\\u001b[2J");',
  );
  const r = await gradeSubmission({
    submission: dir,
    student: '=HYPERLINK("http://x","y")',
    only: ["ex1"],
  });
  const text = reportText(r);
  assert.doesNotMatch(text, /^✓ ex9/m);
  assert.equal(text.match(/^total /gm)!.length, 1);
  const xml = reportJunit(r);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
  assert.equal(csvCell(r.student)[0] + csvCell(r.student)[1], `"'`);
});

Deno.test("a student.json that is a FIFO or huge does not hang or break grading", async () => {
  const dir = `${tmp}/fifo`;
  copy(`${solved}/lib`, `${dir}/lib`);
  await new Deno.Command("mkfifo", { args: [`${dir}/student.json`] }).output();
  const r = await gradeSubmission({ submission: dir, only: ["ex1"] });
  assert.equal(r.student, "anonymous");
});

Deno.test("grade refuses numbers out of range and writes into folders that do not exist yet", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${repo}/grading/grade.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  for (const bad of ["2200000", "0", "-1", "1e3x"]) {
    const out = await run(["--student", solved, `--time-limit=${bad}`]);
    assert.equal(out.code, 2, bad);
    assert.match(new TextDecoder().decode(out.stderr), /--time-limit must be a whole number/);
  }
  const out = await run([
    "--student",
    solved,
    "--only",
    "ex1",
    "--json",
    `${tmp}/new/folder/r.json`,
    "--quiet",
  ]);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(JSON.parse(Deno.readTextFileSync(`${tmp}/new/folder/r.json`)).points, pts("ex1"));
});

Deno.test("a class run killed with SIGKILL resumes with the same command: every grade present, none graded twice", async () => {
  const cls = `${tmp}/class`;
  for (const name of ["a", "b", "c", "d"]) copy(`${solved}/lib`, `${cls}/${name}/lib`);
  const args = [
    "run",
    "-A",
    `${repo}/grading/grade.ts`,
    "--class",
    cls,
    "--csv",
    `${tmp}/scores/class.csv`,
    "--jobs",
    "1",
    "--only",
    "ex1,ex7",
  ];
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" }).spawn();
  const reports = `${tmp}/scores/class.d`;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    let n = 0;
    try {
      n = [...Deno.readDirSync(reports)].filter((e) => e.name.endsWith(".json")).length;
    } catch { /* not yet */ }
    if (n >= 1) break;
  }
  child.kill("SIGKILL");
  await child.status;
  const first = [...Deno.readDirSync(reports)].filter((e) => e.name.endsWith(".json")).length;
  assert.ok(first >= 1 && first < 4, `${first} graded before the kill`);
  const again = await new Deno.Command(Deno.execPath(), { args, stdout: "piped" }).output();
  const log = new TextDecoder().decode(again.stdout);
  assert.match(log, new RegExp(`grading ${4 - first} of 4 submissions`));
  const rows = Deno.readTextFileSync(`${tmp}/scores/class.csv`).trim().split("\n").slice(1);
  assert.equal(rows.length, 4);
  assert.ok(
    rows.every((r) => r.split(",")[2] === String(pts("ex1") + pts("ex7"))),
    rows.join("\n"),
  );
});

Deno.test("an Infinity among the outputs earns no hidden case (it once made every other error read 0)", async () => {
  const dir = withBody(
    "infinity",
    "ex2.2",
    "  const bad = (n: number) => { const d = new Float64Array(n); d[n - 1] = Infinity; return d; };\n" +
      "  return { dx: { data: bad(x.data.length), shape: [...x.shape] }, dw: { data: bad(w.data.length), " +
      "shape: [...w.shape] }, db: { data: bad(info.k), shape: [info.k] } };",
  );
  const r = await grade(dir, ["ex2.2"]);
  assert.equal(byId(r)["ex2.2"].points, 0);
});

Deno.test("what the hidden run prints or how it ends never reaches a visible case", async () => {
  // the visible run (its shapes are public) ends quietly; the hidden one prints its inputs and fails
  const dir = withBody(
    "hidden_stderr",
    "ex2.1",
    '  const sh = x.shape.join(",");\n  if (sh === "2,5,5,3" || sh === "1,7,7,2") Deno.exit(0);\n' +
      '  console.error("LEAK " + sh + " " + [...x.data.slice(0, 4)].join(","));\n  Deno.exit(3);',
  );
  const r = await grade(dir, ["ex2.1"]);
  for (const c of byId(r)["ex2.1"].cases) assert.doesNotMatch(c.message ?? "", /LEAK/, c.name);
});

Deno.test("a folder named like another's report file does not share it", async () => {
  const cls = `${tmp}/collide`;
  copy(`${solved}/lib`, `${cls}/John Smith/lib`);
  copy(`${tmp}/solved/lib`, `${cls}/John_Smith-00000000/lib`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${repo}/grading/grade.ts`,
      "--class",
      cls,
      "--csv",
      `${tmp}/collide.csv`,
      "--only",
      "ex1",
    ],
    stdout: "null",
  }).output();
  assert.equal(out.code, 0);
  const files = [...Deno.readDirSync(`${tmp}/collide.d`)].filter((e) => e.name.endsWith(".json"));
  assert.equal(files.length, 2);
  assert.equal(Deno.readTextFileSync(`${tmp}/collide.csv`).trim().split("\n").length, 3);
});

Deno.test("zz cleanup", () => Deno.removeSync(tmp, { recursive: true }));
