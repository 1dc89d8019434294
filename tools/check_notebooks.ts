/**
 * Static checks of the notebooks, part of `deno task check`:
 * - committed without outputs or execution counts;
 * - formatted as `deno fmt` formats them. `deno fmt --check` itself reports formatted notebooks as
 *   unformatted with an empty diff in Deno 2.9.6 (the bug class of denoland/deno#25840), so `check.ts`
 *   skips `notebooks/` there and this compares each notebook with `deno fmt`'s output on stdin instead;
 * - every code cell type-checks: the cells of each notebook are joined, in order, into one module under
 *   `.nbcheck/` (git-ignored) and given to `deno check`, which does not read `.ipynb` itself.
 *
 * Usage: deno run -A tools/check_notebooks.ts [NB.ipynb...]
 *
 * @module
 */

const root = new URL("..", import.meta.url).pathname;

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

function text(source: string | string[]): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** Problems with committed outputs, one line each. */
export function outputProblems(path: string, cells: Cell[]): string[] {
  const problems: string[] = [];
  cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    if ((c.outputs?.length ?? 0) > 0) {
      problems.push(`${path}: cell ${i + 1} has outputs; clear them before committing`);
    }
    if (c.execution_count != null) {
      problems.push(`${path}: cell ${i + 1} has an execution count; clear outputs`);
    }
  });
  return problems;
}

/** Whether `deno fmt` would leave the notebook's text unchanged (formatted through stdin, with deno.json). */
export async function isFormatted(source: string): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=ipynb", "-"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const out = await child.output();
  return out.code === 0 && new TextDecoder().decode(out.stdout) === source;
}

/** The code cells as one TypeScript module, each cell marked with its number. */
export function toModule(path: string, cells: Cell[]): string {
  const parts = cells.flatMap((c, i) =>
    c.cell_type === "code" ? [`// ---- ${path} cell ${i + 1}\n${text(c.source)}\n`] : []
  );
  return `// Generated from ${path} by tools/check_notebooks.ts for type checking; not used otherwise.\n${
    parts.join("\n")
  }\nexport {};\n`;
}

if (import.meta.main) {
  const paths = Deno.args.length ? Deno.args : [...Deno.readDirSync(`${root}notebooks`)]
    .filter((e) => e.name.endsWith(".ipynb")).map((e) => `notebooks/${e.name}`).sort();
  const problems: string[] = [];
  const modules: string[] = [];
  await Deno.mkdir(`${root}.nbcheck`, { recursive: true });
  for (const path of paths) {
    const source = await Deno.readTextFile(`${root}${path}`);
    const nb = JSON.parse(source);
    problems.push(...outputProblems(path, nb.cells));
    if (!(await isFormatted(source))) problems.push(`${path}: not formatted; run deno fmt ${path}`);
    const name = path.split("/").pop()!.replace(/\.ipynb$/, ".ts");
    await Deno.writeTextFile(`${root}.nbcheck/${name}`, toModule(path, nb.cells));
    modules.push(`.nbcheck/${name}`);
  }
  for (const p of problems) console.error(p);
  const r = await new Deno.Command(Deno.execPath(), { args: ["check", ...modules], cwd: root })
    .output();
  const err = new TextDecoder().decode(r.stderr);
  if (r.code !== 0) {
    console.error(err.replace(/file:\/\/\S*\/\.nbcheck\//g, ".nbcheck/"));
    console.error(
      "notebook type check failed: the errors above point into .nbcheck/NAME.ts; each cell starts with '// ---- NB cell N'",
    );
  }
  console.log(
    `checked ${paths.length} notebooks: ${problems.length} problems (outputs, format), type check ${
      r.code === 0 ? "ok" : "FAILED"
    }`,
  );
  Deno.exit(problems.length || r.code ? 1 : 0);
}
