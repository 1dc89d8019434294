/**
 * `deno task lab`: the main job. Installs what is missing (Jupyter, the Deno kernelspec with
 * `"interrupt_mode": "message"`), then opens classic Jupyter Notebook rooted at the tree, so that `lib/`
 * (where the exercises are) opens from the browser too, on the `notebooks/` folder first.
 * Extra arguments go to Jupyter, e.g. `deno task lab --no-browser --port 8890` (a `--` before them, as
 * some shells and habits put it, is dropped).
 *
 * @module
 */
import { setup } from "./jupyter.ts";

const root = new URL("..", import.meta.url).pathname;
const python = await setup();
const extra = Deno.args[0] === "--" ? Deno.args.slice(1) : [...Deno.args];
const args = [
  "-m",
  "notebook",
  `--notebook-dir=${root}`,
  "--NotebookApp.default_url=/tree/notebooks",
  ...extra,
];
if (Deno.uid?.() === 0 && !args.includes("--allow-root")) args.push("--allow-root");
console.log(`[convkit] starting: ${python} ${args.join(" ")}`);
console.log("[convkit] open 00_setup.ipynb first; Ctrl+C twice here stops Jupyter");
const child = new Deno.Command(python, { args, cwd: root, stdin: "inherit" }).spawn();
Deno.addSignalListener("SIGINT", () => {}); // Jupyter handles Ctrl+C itself
// stopped by kill (SIGTERM): stop Jupyter too, or it keeps the port and the next lab moves to another
Deno.addSignalListener("SIGTERM", () => {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
});
Deno.exit((await child.status).code);
