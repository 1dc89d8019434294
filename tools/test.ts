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
 * After the notebooks, the same notebooks in headless Chromium (tools/browser_check.ts: their HTML,
 * their figures' text, one live in classic Notebook; Chromium is installed when missing); not with
 * `--only-notebooks` or notebook paths, nor in a student edition.
 *
 * Flags: `--only-notebooks`, `--no-notebooks`, `--no-editions`, `--no-browser`, and notebook paths to
 * run just those (nothing else).
 *
 * @module
 */
import { setup } from "./jupyter.ts";
import { ensureChromium } from "./chromium.ts";
import { release } from "../grading/release.ts";
import { isStudentEdition } from "../lib/edition.ts";

const root = new URL("..", import.meta.url).pathname;
const args = Deno.args.filter((a) => !a.startsWith("--"));
// notebook paths alone run just those notebooks (the suites take minutes)
const onlyNotebooks = Deno.args.includes("--only-notebooks") || args.length > 0;
const noNotebooks = Deno.args.includes("--no-notebooks");
const noEditions = Deno.args.includes("--no-editions") || args.length > 0;
// the browser check belongs to the whole run of this tree: `deno task notebooks` (a student's, or in
// the class image) runs notebooks and needs no browser
const noBrowser = Deno.args.includes("--no-browser") || onlyNotebooks || isStudentEdition();

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

/**
 * Runs a command, returning its exit code and stdout, shown as it comes; with a `prefix`, each line of
 * its stdout and stderr is shown after that prefix (for runs side by side).
 */
async function runTee(
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string> = {},
  cwd = root,
  prefix?: string,
) {
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd,
    stdout: "piped",
    stderr: prefix ? "piped" : "inherit",
    stdin: "null",
    env,
  }).spawn();
  const enc = new TextEncoder();
  /** Copies a stream to `out` line by line after the prefix; resolves to all its text. */
  const pump = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    const dec = new TextDecoder();
    let text = "", pending = "";
    for await (const chunk of stream) {
      const s = dec.decode(chunk, { stream: true });
      text += s;
      if (!prefix) {
        await out.write(chunk);
        continue;
      }
      pending += s;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      if (lines.length) await out.write(enc.encode(lines.map((l) => `${prefix}${l}\n`).join("")));
    }
    if (prefix && pending) await out.write(enc.encode(`${prefix}${pending}\n`));
    return text;
  };
  const [text] = await Promise.all([
    pump(child.stdout, Deno.stdout),
    prefix ? pump(child.stderr, Deno.stderr) : Promise.resolve(""),
  ]);
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
// and Chromium, for the browser check and its tests in tests/tools (the check reports a failure itself)
if (python && !noBrowser) {
  await ensureChromium().catch((e) => console.error(`[convkit setup] ${e.message}`));
}

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
  // notebooks that keep a trained model (16, 17) must train here, not load one a lab session saved
  const models = `${root}build/test-models`;
  await Deno.remove(models, { recursive: true }).catch(() => {});
  const started = Date.now();
  const r = await runTee(python, ["tools/run_notebooks.py", ...notebooks], {
    CONVKIT_MODELS: models,
  });
  const c = counts(r.text);
  if (c) {
    passed += c.passed;
    failed += c.failed;
  }
  if (r.code !== 0 && (!c || c.failed === 0)) broken = true;
  if (!noBrowser) {
    // what the run left in build/ (HTML, figures' SVG), in Chromium; then one notebook live
    console.log(
      "== the notebooks in headless Chromium (HTML, figures' text, classic Notebook live)",
    );
    const b = await runTee(Deno.execPath(), [
      "run",
      "-A",
      "tools/browser_check.ts",
      "--since",
      String(started),
      ...notebooks,
    ]);
    const bc = counts(b.text);
    if (bc) {
      passed += bc.passed;
      failed += bc.failed;
    }
    if (b.code !== 0 && (!bc || bc.failed === 0)) broken = true;
  }
}

if (python && !onlyNotebooks && !noEditions) {
  // the editions a class receives: every notebook must run before any exercise is done, and after all.
  // The two run side by side: a notebook keeps about one core busy (one kernel, tfjs single-threaded),
  // so on two cores this takes about half the time.
  const editions = [["fresh", false], ["solved", true]] as const;
  for (const [name, solutions] of editions) {
    await release(`${root}build/editions/${name}`, { force: true, solutions });
  }
  const notebooks = listNotebooks();
  const runs = editions.map(([name]) => {
    const dir = `${root}build/editions/${name}`;
    console.log(`== notebooks in the ${name} student edition (${dir}), lines marked [${name}]`);
    return runTee(python, ["tools/run_notebooks.py", ...notebooks], {}, dir, `[${name}] `);
  });
  for (const r of await Promise.all(runs)) {
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
