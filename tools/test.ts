/**
 * `deno task test`: set-up when needed (Jupyter, the Deno kernelspec), then every test: the `deno test`
 * suites with the JSDoc examples, every notebook run headless through Jupyter and the Deno kernel, and
 * then the same notebooks in two student editions released from this tree (`build/editions/fresh`, no
 * exercise done, and `build/editions/solved`, `--with-solutions`): every notebook must run in both.
 * Ends with one line `N passed, N failed` over all of them.
 *
 * In a student edition (it has `grading/edition.json`) it runs the visible checks of every exercise
 * instead, one line per exercise, ending with the same closing line.
 *
 * Flags: `--only-notebooks`, `--no-notebooks`, `--no-editions`, and notebook paths to run just those
 * (nothing else).
 *
 * @module
 */
import { setup } from "./jupyter.ts";
import { release } from "../grading/release.ts";
import { isStudentEdition } from "../lib/edition.ts";

const root = new URL("..", import.meta.url).pathname;
const args = Deno.args.filter((a) => !a.startsWith("--"));
// notebook paths alone run just those notebooks (the suites take minutes)
const onlyNotebooks = Deno.args.includes("--only-notebooks") || args.length > 0;
const noNotebooks = Deno.args.includes("--no-notebooks");
const noEditions = Deno.args.includes("--no-editions") || args.length > 0;

// in a student edition `deno task test` is the visible checks
if (isStudentEdition() && !onlyNotebooks) {
  const { gradeSubmission } = await import("../grading/grader.ts");
  const r = await gradeSubmission({ submission: root });
  for (const e of r.exercises) {
    const failed = e.cases.find((c) => !c.passed);
    console.log(
      `${failed ? "FAILED" : "ok"}  ${e.id.padEnd(5)} ${e.title}` +
        (failed ? `: ${failed.name}: ${failed.message}` : ""),
    );
    for (const n of e.notes) console.log(`       note: ${n}`);
  }
  console.log("(details, with points: deno task grade)");
  const ok = r.exercises.filter((e) => e.cases.every((c) => c.passed)).length;
  console.log(`${ok} passed, ${r.exercises.length - ok} failed`);
  Deno.exit(ok === r.exercises.length ? 0 : 1);
}

/** The notebooks in `notebooks/`, in their numbered order. */
export function listNotebooks(): string[] {
  return [...Deno.readDirSync(`${root}notebooks`)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => `notebooks/${e.name}`)
    .sort();
}

async function runTee(
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string> = {},
  cwd = root,
) {
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
    env,
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    text += dec.decode(chunk, { stream: true });
  }
  const { code } = await child.status;
  return { code, text };
}

/** Reads `N passed` / `N failed` from a runner's output (deno test's or the notebook runner's). */
function counts(text: string): { passed: number; failed: number } | undefined {
  // deno test: "ok | 88 passed | 0 failed (2s)" or "FAILED | 80 passed | 8 failed"; notebooks: "3 passed, 0 failed"
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const m = [...plain.matchAll(/(\d+) passed(?: \(\d+ steps?\))?[ ,|]+(\d+) failed/g)].pop();
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : undefined;
}

let passed = 0, failed = 0, broken = false;
// Set-up first: the runner's own tests in tests/tools need Jupyter and the kernel too.
const python = noNotebooks ? undefined : await setup();

if (!onlyNotebooks) {
  console.log("== deno test (tests/ and the JSDoc examples in lib/ and grading/)");
  const r = await runTee(Deno.execPath(), ["test", "-A", "--doc", "lib/", "grading/", "tests/"], {
    NO_COLOR: "1",
  });
  const c = counts(r.text);
  if (c) {
    passed += c.passed;
    failed += c.failed;
  }
  if (r.code !== 0 && (!c || c.failed === 0)) broken = true; // e.g. a type error: nothing ran
}

if (python) {
  // names as the notebook list shows them work too: 15_assignment.ipynb for notebooks/15_assignment.ipynb
  const notebooks = args.length
    ? args.map((a) => {
      try {
        Deno.statSync(`${root}${a}`);
        return a;
      } catch {
        return `notebooks/${a}`;
      }
    })
    : listNotebooks();
  console.log(`== notebooks (${notebooks.length}, through Jupyter and the Deno kernel)`);
  const r = await runTee(python, ["tools/run_notebooks.py", ...notebooks]);
  const c = counts(r.text);
  if (c) {
    passed += c.passed;
    failed += c.failed;
  }
  if (r.code !== 0 && (!c || c.failed === 0)) broken = true;
}

if (python && !onlyNotebooks && !noEditions) {
  // the editions a class receives: every notebook must run before any exercise is done, and after all
  for (const [name, solutions] of [["fresh", false], ["solved", true]] as const) {
    const dir = `${root}build/editions/${name}`;
    await release(dir, { force: true, solutions });
    const notebooks = listNotebooks();
    console.log(`== notebooks in the ${name} student edition (${dir})`);
    const r = await runTee(python, ["tools/run_notebooks.py", ...notebooks], {}, dir);
    const c = counts(r.text);
    if (c) {
      passed += c.passed;
      failed += c.failed;
    }
    if (r.code !== 0 && (!c || c.failed === 0)) broken = true;
  }
}

if (broken) console.log("a test runner failed before it could count its tests (see above)");
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed > 0 || broken ? 1 : 0);
