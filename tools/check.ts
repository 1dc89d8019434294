/**
 * `deno task check`: the one command before every commit. Formatting, lint, type checks (library, tests,
 * tools and the notebooks' code cells), notebooks committed without outputs, then `deno task test`.
 *
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();

const steps: [string, string[]][] = [
  ["format", [deno, "fmt", "--check"]],
  ["lint", [deno, "lint"]],
  ["type check", [deno, "check", "lib/", "tests/", "tools/"]],
  ["notebooks (outputs, types)", [deno, "run", "-A", "tools/check_notebooks.ts"]],
  ["tests", [deno, "run", "-A", "tools/test.ts"]],
];

const failed: string[] = [];
for (const [name, [cmd, ...args]] of steps) {
  console.log(`\n== ${name}: ${["deno", ...args].join(" ")}`);
  const { code } = await new Deno.Command(cmd, { args, cwd: root, stdin: "null" }).output();
  if (code !== 0) failed.push(name);
}
console.log(failed.length ? `\ncheck FAILED: ${failed.join(", ")}` : "\ncheck ok");
Deno.exit(failed.length ? 1 : 0);
