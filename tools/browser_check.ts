/**
 * The notebooks in a real browser (headless Chromium, driven by puppeteer-core). `deno task test` runs it
 * after the notebooks, on what their run left in `build/` (tools/run_notebooks.py: `build/html`,
 * `build/figures`). Three kinds of test, one line each, then `N passed, N failed`:
 *
 * - `html NN_name`: the executed notebook as nbconvert's HTML. Fails on a page error (an uncaught
 *   exception in a script), a console error, a resource that did not load, an image that did not load,
 *   an empty SVG or blank canvas, an SVG whose text is cut or overlaps (see `browser_page.ts`), and an
 *   output with a script that drew nothing: the page is loaded twice, with and without JavaScript, and
 *   such an output must show other elements when its script ran. Saves a full-page screenshot to
 *   `build/screenshots/NN_name.png`.
 * - `figures NN_name`: every SVG the notebook drew (kept by lib/plot/render.ts while the runner ran it),
 *   measured as the browser lays it out with the kit's font (DejaVu Sans): no visible text sticks out of
 *   its figure, no two texts overlap. The PNG that the notebook shows is rendered from the same SVG.
 * - `live NN_name`: classic Notebook 6 started on the tree, the notebook opened and all its cells run
 *   from the page (`Jupyter.notebook.execute_all_cells()`); fails on an error output, a cell that did not
 *   run, a page error, and what `html` checks in the outputs. Autosave is off and the notebook file is
 *   restored if it changed anyway. Screenshot `build/screenshots/live_NN_name.png`. Notebook and browser
 *   are stopped whatever happens.
 *
 * Usage: deno run -A tools/browser_check.ts [--since MS] [--live NN,NN | --no-live] [NN_name.ipynb...]
 * (default: every notebook; `--since` (ms since the epoch) ignores HTML older than that, left from an
 * earlier run; `--live` picks the notebooks run live, default 04).
 *
 * @module
 */
import type { Browser, Page } from "puppeteer-core";
import { ensureChromium, launchChromium } from "./chromium.ts";
import {
  type InspectOptions,
  inspectPage,
  mathJaxDone,
  type PageReport,
  settle,
} from "./browser_page.ts";
import { findJupyterPython, SetupError } from "./jupyter.ts";

const root = new URL("..", import.meta.url).pathname;
/** Notebooks run live in classic Notebook unless `--live` says otherwise (one: each costs its run time). */
export const DEFAULT_LIVE = ["04_conv_layer_summary"];
/** Pixels texts may overlap or stick out (a font box holds line spacing above and below the glyphs). */
export const TOLERANCE_PX = 2;
const VIEWPORT = { width: 1200, height: 900 };

/** The result of one browser test. */
export interface BrowserResult {
  name: string;
  problems: string[];
  seconds: number;
}

/** Starts collecting a page's errors: uncaught exceptions, console errors, failed requests. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e instanceof Error ? e.message : e}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console error: ${m.text().slice(0, 300)}`);
  });
  page.on("requestfailed", (r) => {
    const why = r.failure()?.errorText ?? "failed";
    if (why !== "net::ERR_ABORTED" || !r.url().startsWith("data:")) {
      errors.push(`did not load: ${r.url().slice(0, 120)} (${why})`);
    }
  });
  return errors;
}

/** Runs {@link inspectPage} in the page. */
function inspect(page: Page, mode: InspectOptions["mode"]): Promise<PageReport> {
  const opts: InspectOptions = { mode, tolerance: TOLERANCE_PX };
  return page.evaluate(inspectPage, opts);
}

async function load(page: Page, url: string) {
  await page.goto(url, { waitUntil: "load", timeout: 60_000 });
  await page.evaluate(mathJaxDone, 10_000);
  await page.evaluate(settle, 300, 5_000);
}

/**
 * Checks one notebook's nbconvert HTML (see the module doc) and saves its screenshot.
 *
 * @param html path of the HTML file
 * @param screenshot path of the PNG to write
 */
export async function checkHtml(
  browser: Browser,
  html: string,
  screenshot: string,
): Promise<string[]> {
  const page = await browser.newPage();
  try {
    await page.setViewport(VIEWPORT);
    const errors = collectErrors(page);
    const url = `file://${html}`;
    await load(page, url);
    const report = await inspect(page, "html");
    await page.screenshot({ path: screenshot, fullPage: true });
    const problems = [...errors, ...report.problems];
    if (report.outputs.some((o) => o.hasScript)) {
      // the same page without JavaScript: an output with a script must differ from it
      await page.setJavaScriptEnabled(false);
      await page.goto(url, { waitUntil: "load", timeout: 60_000 });
      const still = await inspect(page, "html");
      report.outputs.forEach((o, i) => {
        const before = still.outputs[i];
        if (o.hasScript && before && before.where === o.where && before.tags === o.tags) {
          problems.push(
            `${o.where}: its script drew nothing (same elements as without JavaScript)`,
          );
        }
      });
    }
    return problems;
  } finally {
    await page.close();
  }
}

/**
 * Measures the text of every SVG in `dir` (one figure each, as lib/plot/render.ts kept them) in the
 * browser with DejaVu Sans, the font the kit renders PNGs with. Returns problems named by file and title;
 * counts what it measured into `stats` (identical SVGs, a live chart redrawn unchanged, count once).
 */
export async function checkFigures(
  browser: Browser,
  dir: string,
  stats: { figures: number; texts: number } = { figures: 0, texts: 0 },
): Promise<string[]> {
  let files: string[];
  try {
    files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".svg")).map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
  const page = await browser.newPage();
  const problems: string[] = [];
  const seen = new Map<string, string>();
  try {
    const errors = collectErrors(page);
    for (const f of files) {
      const svg = await Deno.readTextFile(`${dir}/${f}`);
      if (seen.has(svg)) continue; // a live chart redrawn unchanged
      seen.set(svg, f);
      await page.setContent(
        `<!doctype html><html><head><style>body { margin: 0 } svg text { font-family: "DejaVu Sans" !important }</style></head><body>${svg}</body></html>`,
        { waitUntil: "load" },
      );
      const r = await inspect(page, "figure");
      stats.figures++;
      stats.texts += r.counted.texts;
      const title = await page.evaluate(() =>
        // vega's title, else the first text (the kit's diagrams put their title first)
        ((document.querySelector("svg .role-title-text") ?? document.querySelector("svg text"))
          ?.textContent ?? "")
          .trim().slice(0, 50)
      );
      const name = `${dir.startsWith(root) ? dir.slice(root.length) : dir}/${f}${
        title ? ` (${JSON.stringify(title)})` : ""
      }`;
      for (const p of r.problems) problems.push(p.replace(/^figure/, name));
    }
    return [...errors, ...problems];
  } finally {
    await page.close();
  }
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A classic Notebook 6 server on the tree, for {@link checkLive}; `stop()` ends it and its kernels. */
export async function startNotebookServer(python: string) {
  const port = freePort();
  const token = crypto.randomUUID();
  const args = [
    "-m",
    "notebook",
    "--no-browser",
    "--ip=127.0.0.1",
    `--port=${port}`,
    "--port-retries=0",
    `--NotebookApp.token=${token}`,
    `--notebook-dir=${root}`,
  ];
  if (Deno.uid?.() === 0) args.push("--allow-root");
  const child = new Deno.Command(python, {
    args,
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const dec = new TextDecoder();
  const drain = (s: ReadableStream<Uint8Array>) =>
    s.pipeTo(new WritableStream({ write: (c) => void (log += dec.decode(c)) })).catch(() => {});
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      const sessions = await (await fetch(`${base}/api/sessions?token=${token}`)).json();
      for (const s of sessions) {
        await (await fetch(`${base}/api/sessions/${s.id}?token=${token}`, { method: "DELETE" }))
          .body?.cancel();
      }
    } catch { /* the server is gone already */ }
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await drained;
  };
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Jupyter Notebook did not start within 60 s:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { base, token, stop, log: () => log };
}

/**
 * Opens `notebooks/<name>.ipynb` in classic Notebook, runs all its cells from the page, waits until no
 * cell is running (at most `timeoutS`), and checks what the module doc says. The notebook file is
 * restored byte for byte if the front end saved it.
 */
export async function checkLive(
  browser: Browser,
  server: { base: string; token: string },
  name: string,
  screenshot: string,
  timeoutS = 300,
): Promise<string[]> {
  const file = `${root}notebooks/${name}.ipynb`;
  const original = await Deno.readFile(file);
  const checkpoints = `${root}notebooks/.ipynb_checkpoints`; // Notebook makes it on opening
  const hadCheckpoints = isDir(checkpoints);
  const page = await browser.newPage();
  try {
    await page.setViewport(VIEWPORT);
    const errors = collectErrors(page);
    await page.goto(`${server.base}/notebooks/notebooks/${name}.ipynb?token=${server.token}`, {
      waitUntil: "load",
      timeout: 60_000,
    });
    await page.waitForFunction(
      () => {
        // deno-lint-ignore no-explicit-any
        const nb = (globalThis as any).Jupyter?.notebook;
        return nb?._fully_loaded && nb.kernel?.is_connected();
      },
      { timeout: 120_000, polling: 250 },
    ).catch(() => {
      throw new Error("the notebook did not load with a connected kernel within 120 s");
    });
    await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const nb = (globalThis as any).Jupyter.notebook;
      nb.set_autosave_interval(0); // the test must not write outputs into the committed notebook
      // a kernel that dies (or is restarted by the server) leaves its cells "running": stop waiting
      nb.events.on("kernel_dead.Kernel kernel_restarting.Kernel", () => {
        // deno-lint-ignore no-explicit-any
        (globalThis as any).__convkitKernelDied = true;
      });
      nb.execute_all_cells();
    });
    await page.waitForFunction(
      () => {
        // deno-lint-ignore no-explicit-any
        const g = globalThis as any;
        // a queued or running cell has the class "running" until the kernel's reply (codecell.js)
        // deno-lint-ignore no-explicit-any
        const running = g.Jupyter.notebook.get_cells().some((c: any) =>
          c.element.hasClass("running")
        );
        return g.__convkitKernelDied || !running;
      },
      { timeout: timeoutS * 1000, polling: 500 },
    ).catch(() => {
      throw new Error(`cells were still running after ${timeoutS} s`);
    });
    // deno-lint-ignore no-explicit-any
    if (await page.evaluate(() => (globalThis as any).__convkitKernelDied === true)) {
      errors.push("the kernel died or was restarted while the cells ran");
    }
    await page.evaluate(mathJaxDone, 10_000);
    await page.evaluate(settle, 500, 5_000);
    const report = await inspect(page, "live");
    // classic Notebook scrolls inside #site: let the page grow instead, so one screenshot shows it all
    await page.addStyleTag({
      content: "html, body, #site { height: auto !important; overflow: visible !important; }",
    });
    await page.screenshot({ path: screenshot, fullPage: true });
    return [...errors, ...report.problems];
  } finally {
    await page.close();
    const now = await Deno.readFile(file);
    if (now.length !== original.length || now.some((b, i) => b !== original[i])) {
      await Deno.writeFile(file, original);
      console.log(`  (${name}.ipynb was saved by the front end; restored)`);
    }
    if (!hadCheckpoints) await Deno.remove(checkpoints).catch(() => {}); // only when left empty
  }
}

function stem(path: string): string {
  return path.replace(/^.*\//, "").replace(/\.ipynb$/, "");
}

async function timed(
  name: string,
  fn: () => Promise<string[]>,
  note = () => "",
): Promise<BrowserResult> {
  const t0 = performance.now();
  let problems: string[];
  try {
    problems = await fn();
  } catch (e) {
    problems = [`the check failed: ${e instanceof Error ? e.message : e}`];
  }
  const r = { name, problems, seconds: (performance.now() - t0) / 1000 };
  const status = problems.length ? "FAILED" : "ok";
  console.log(`browser ${name} ... ${status} (${r.seconds.toFixed(1)}s${note()})`);
  for (const p of problems) console.log(`  ${p}`);
  return r;
}

/**
 * Runs the browser tests on the given notebooks (stems such as `02_spatial_arithmetic`), printing one
 * line per test (with its problems below it) as it goes; `live` are run live when among `notebooks`.
 *
 * @throws {SetupError} when Chromium (or, for `live`, Jupyter) is missing and cannot be installed
 */
export async function browserCheck(
  notebooks: string[],
  opts: { since?: number; live?: string[] } = {},
): Promise<BrowserResult[]> {
  const shots = `${root}build/screenshots`;
  await Deno.mkdir(shots, { recursive: true });
  const results: BrowserResult[] = [];
  const chromium = await ensureChromium();
  const browser = await launchChromium(chromium);
  try {
    for (const nb of notebooks) {
      const html = `${root}build/html/${nb}.html`;
      let fresh = false;
      try {
        fresh = (Deno.statSync(html).mtime?.getTime() ?? 0) >= (opts.since ?? 0);
      } catch { /* no HTML */ }
      if (!fresh) {
        console.log(`browser html ${nb} ... skipped (no HTML from this run: the notebook failed)`);
        continue;
      }
      results.push(await timed(`html ${nb}`, () => checkHtml(browser, html, `${shots}/${nb}.png`)));
      const stats = { figures: 0, texts: 0 };
      results.push(
        await timed(
          `figures ${nb}`,
          () => checkFigures(browser, `${root}build/figures/${nb}`, stats),
          () => `; ${stats.figures} SVGs, ${stats.texts} texts measured`,
        ),
      );
    }
    const live = (opts.live ?? DEFAULT_LIVE).filter((n) => notebooks.includes(n));
    if (live.length) {
      const python = await findJupyterPython();
      if (!python) {
        throw new SetupError("no Python with Jupyter: run `deno task test` to set it up");
      }
      const t0 = performance.now();
      const server = await startNotebookServer(python);
      console.log(`(classic Notebook started in ${((performance.now() - t0) / 1000).toFixed(1)}s)`);
      try {
        for (const nb of live) {
          results.push(
            await timed(
              `live ${nb}`,
              () => checkLive(browser, server, nb, `${shots}/live_${nb}.png`),
            ),
          );
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    await browser.close();
  }
  return results;
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const valued = new Set(["--since", "--live"]);
  const names = args.filter((a, i) => !a.startsWith("--") && !valued.has(args[i - 1])).map(stem);
  const notebooks = names.length ? names : [...Deno.readDirSync(`${root}notebooks`)]
    .filter((e) => e.name.endsWith(".ipynb")).map((e) => stem(e.name)).sort();
  const live = args.includes("--no-live") ? [] : flag("--live")?.split(",").map(stem);
  const t0 = performance.now();
  let results: BrowserResult[];
  try {
    results = await browserCheck(notebooks, { since: Number(flag("--since") ?? 0), live });
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    console.error(`[convkit setup] ${e.message}`);
    console.log("0 passed, 1 failed");
    Deno.exit(1);
  }
  const failed = results.filter((r) => r.problems.length).length;
  console.log(
    `(browser: ${((performance.now() - t0) / 1000).toFixed(1)}s; screenshots in build/screenshots)`,
  );
  console.log(`${results.length - failed} passed, ${failed} failed`);
  Deno.exit(failed ? 1 : 0);
}
