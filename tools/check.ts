/**
 * `deno task check`: the one command before every commit. Formatting, lint, type checks (library, tests,
 * tools and the notebooks' code cells), notebooks committed without outputs, then `deno task test`.
 * `--static` stops before the tests (CI runs them itself, so that its last line is the test count).
 *
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();

const steps: [string, string[]][] = [
  // notebooks/ is format-checked by check_notebooks.ts (deno fmt --check misreports .ipynb in 2.9.6)
  ["format", [deno, "fmt", "--check", "--ignore=notebooks/"]],
  ["lint", [deno, "lint"]],
  ["type check", [deno, "check", "lib/", "grading/", "tests/", "tools/"]],
  ["notebooks (outputs, format, types)", [deno, "run", "-A", "tools/check_notebooks.ts"]],
  ["tests", [deno, "run", "-A", "tools/test.ts"]],
];

const failed: string[] = [];
const chosen = Deno.args.includes("--static") ? steps.filter(([name]) => name !== "tests") : steps;
for (const [name, [cmd, ...args]] of chosen) {
  console.log(`\n== ${name}: ${["deno", ...args].join(" ")}`);
  const { code } = await new Deno.Command(cmd, {
    args,
    cwd: root,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) failed.push(name);
}
console.log(failed.length ? `\ncheck FAILED: ${failed.join(", ")}` : "\ncheck ok");
Deno.exit(failed.length ? 1 : 0);
