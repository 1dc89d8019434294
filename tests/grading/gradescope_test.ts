import assert from "node:assert/strict";
import { unzipSync } from "fflate";
import { buildAutograder } from "../../grading/autograder.ts";
import { EXERCISES } from "../../grading/exercises.ts";
import { release } from "../../grading/release.ts";

// Gradescope, end to end: build autograder.zip, unpack it into an /autograder-shaped folder, run its
// run_autograder on a submission as Gradescope would, and check results.json against Gradescope's
// documented format (Autograder Specifications: score, output, visibility, stdout_visibility, and tests
// with name, number, score, max_score, status, output, visibility).

const tmp = await Deno.makeTempDir({ prefix: "convkit_gradescope_test_" });
const ag = `${tmp}/autograder`;
await buildAutograder(`${tmp}/autograder.zip`);
const files = unzipSync(Deno.readFileSync(`${tmp}/autograder.zip`));
for (const [name, data] of Object.entries(files)) {
  Deno.mkdirSync(`${ag}/source/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
  Deno.writeFileSync(`${ag}/source/${name}`, data);
}

async function runAutograder(): Promise<Record<string, unknown>> {
  const out = await new Deno.Command("bash", {
    args: [`${ag}/source/run_autograder`],
    env: { AUTOGRADER_ROOT: ag },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(Deno.readTextFileSync(`${ag}/results/results.json`));
}

Deno.test("autograder.zip holds setup.sh and run_autograder at its root, the hidden cases, and no tests", () => {
  for (
    const f of [
      "setup.sh",
      "run_autograder",
      "grading/hidden/cases.ts",
      "lib/shape.ts",
      "deno.json",
    ]
  ) {
    assert.ok(f in files, f);
  }
  assert.ok(!Object.keys(files).some((f) => f.startsWith("tests/")));
  assert.match(new TextDecoder().decode(files["setup.sh"]), /npm install -g deno@2\.9\.6/);
});

Deno.test("run_autograder grades /autograder/submission into a results.json in Gradescope's format, hidden cases after_published", async () => {
  await release(`${ag}/submission`, { solutions: true });
  Deno.writeTextFileSync(
    `${ag}/submission_metadata.json`,
    JSON.stringify({ id: 123, users: [{ email: "ada@example.edu", name: "Ada" }] }),
  );
  const r = await runAutograder();
  assert.equal(r.score, 100);
  assert.equal(r.visibility, "visible");
  assert.equal(r.stdout_visibility, "hidden");
  assert.match(String(r.output), /student ada@example\.edu/);
  const tests = r.tests as Record<string, unknown>[];
  assert.ok(tests.length > 2 * EXERCISES.length);
  for (const t of tests) {
    assert.deepEqual(
      Object.keys(t).sort(),
      ["max_score", "name", "number", "output", "score", "status", "visibility"],
    );
    assert.equal(typeof t.name, "string");
    assert.equal(typeof t.score, "number");
    assert.equal(t.score, t.max_score);
    assert.ok(["visible", "after_published"].includes(String(t.visibility)));
  }
  const hidden = tests.filter((t) => /hidden case/.test(String(t.name)));
  assert.ok(hidden.length > 0 && hidden.every((t) => t.visibility === "after_published"));
  const total = tests.reduce((a, t) => a + Number(t.max_score), 0);
  assert.equal(Math.round(total * 1000) / 1000, 100);
  assert.doesNotMatch(String(r.output), /100|\d+ \/ \d+/); // no total before hidden tests are published
});

Deno.test("run_autograder on an upload without lib/ writes results.json with score 0 and says why", async () => {
  Deno.removeSync(`${ag}/submission`, { recursive: true });
  Deno.mkdirSync(`${ag}/submission/stuff`, { recursive: true });
  Deno.writeTextFileSync(`${ag}/submission/stuff/notes.txt`, "hello");
  const r = await runAutograder();
  assert.equal(r.score, 0);
  assert.match(String(r.output), /could not grade.*lib\//);
  assert.deepEqual(r.tests, []);
});

Deno.test("zz cleanup", () => Deno.removeSync(tmp, { recursive: true }));
