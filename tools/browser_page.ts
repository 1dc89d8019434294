/// <reference lib="dom" />
/**
 * What `tools/browser_check.ts` runs inside the page: checks of a notebook's outputs as a browser shows
 * them. {@link inspectPage} is sent to Chromium as source text (puppeteer's `page.evaluate`), so it holds
 * every helper it uses and touches nothing outside the page.
 *
 * @module
 */

/** How {@link inspectPage} reads the page. */
export interface InspectOptions {
  /**
   * `html`: a notebook converted by nbconvert (lab template); `live`: classic Notebook 6 with the
   * notebook open; `figure`: a page that holds one bare SVG figure.
   */
  mode: "html" | "live" | "figure";
  /** Pixels two texts may overlap (font boxes include line spacing) or stick out of their SVG. */
  tolerance: number;
}

/** One output of a code cell, as the page shows it. */
export interface OutputSignature {
  /** Where it is, e.g. `code cell 3, output 1`. */
  where: string;
  /** Whether it holds a script that runs (not a JSON data block). */
  hasScript: boolean;
  /** Tag names of its elements in document order, leaving out scripts, `noscript`, styles. */
  tags: string;
}

/** What {@link inspectPage} found: problems (empty when all is well) and each output's signature. */
export interface PageReport {
  problems: string[];
  outputs: OutputSignature[];
  /** Counts of what was checked: images, SVGs, canvases, texts measured, script outputs. */
  counted: { images: number; svgs: number; canvases: number; texts: number; scripts: number };
}

/**
 * Checks every output of the notebook in this page: each `<img>` loaded (`naturalWidth > 0`) and has a
 * size on the page; each SVG has a size and draws something; each canvas has a size and a painted pixel;
 * in each SVG no visible `<text>` sticks out of the SVG's box (where the browser cuts it) and no two
 * visible texts overlap by more than `tolerance` pixels. Texts are measured as the browser lays them out:
 * `getBBox()` (the text's font box) mapped by `getScreenCTM()` to the page, so rotated labels are
 * four-cornered shapes; overlap is the separating-axis depth of two such shapes.
 *
 * In `live` mode it also reads Classic Notebook's model (`window.Jupyter`): a code cell with an error
 * output, or never run, is a problem; a `text/html` output with a script must show elements that its
 * HTML alone (parsed without running scripts) does not: what its script drew.
 *
 * An output (or a table or `pre` in it) wider than its box, which scrolls sideways and so is cut in a
 * screenshot, is a problem too.
 *
 * Runs inside the page: takes and returns plain JSON.
 */
export function inspectPage(opts: InspectOptions): PageReport {
  const problems: string[] = [];
  const outputs: OutputSignature[] = [];
  const counted = { images: 0, svgs: 0, canvases: 0, texts: 0, scripts: 0 };
  const tol = opts.tolerance;
  const RUNNABLE = ["", "text/javascript", "application/javascript", "module"];
  const SKIP = new Set(["SCRIPT", "NOSCRIPT", "STYLE", "TEMPLATE"]);

  const short = (s: string) => {
    const t = s.replace(/\s+/g, " ").trim();
    return JSON.stringify(t.length > 40 ? `${t.slice(0, 37)}...` : t);
  };
  const tagsOf = (root: Element): string => {
    const out: string[] = [];
    const walk = (el: Element) => {
      for (const c of Array.from(el.children)) {
        if (SKIP.has(c.tagName.toUpperCase())) continue;
        out.push(c.tagName.toLowerCase());
        walk(c);
      }
    };
    walk(root);
    return out.join(",");
  };
  const runnable = (root: Element) =>
    Array.from(root.querySelectorAll("script")).some((s) =>
      RUNNABLE.includes((s.getAttribute("type") ?? "").trim().toLowerCase())
    );
  const visible = (el: Element): boolean => {
    for (let e: Element | null = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.display === "none" || st.visibility === "hidden" || Number(st.opacity) === 0) {
        return false;
      }
    }
    const st = getComputedStyle(el);
    return !(st.fill === "none" && st.stroke === "none") && Number(st.fillOpacity) !== 0;
  };

  type Pt = { x: number; y: number };
  const quadOf = (t: SVGGraphicsElement): Pt[] | undefined => {
    const b = t.getBBox();
    const m = t.getScreenCTM();
    if (!m || b.width === 0 || b.height === 0) return undefined;
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [
      b.x,
      b.y + b.height,
    ]]
      .map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
  };
  // separating-axis overlap depth of two convex quads (0 when apart)
  const depth = (a: Pt[], b: Pt[]): number => {
    let least = Infinity;
    for (const q of [a, b]) {
      for (let i = 0; i < 2; i++) {
        const dx = q[i + 1].x - q[i].x, dy = q[i + 1].y - q[i].y;
        const len = Math.hypot(dx, dy);
        if (len === 0) continue;
        const ax = -dy / len, ay = dx / len;
        const pa = a.map((p) => p.x * ax + p.y * ay), pb = b.map((p) => p.x * ax + p.y * ay);
        const o = Math.min(Math.max(...pa), Math.max(...pb)) -
          Math.max(Math.min(...pa), Math.min(...pb));
        if (o <= 0) return 0;
        least = Math.min(least, o);
      }
    }
    return least === Infinity ? 0 : least;
  };

  const checkSvgText = (svg: SVGSVGElement, where: string) => {
    const box = svg.getBoundingClientRect();
    const texts = Array.from(svg.querySelectorAll("text"))
      .filter((t) => (t.textContent ?? "").trim() !== "" && visible(t))
      .map((t) => ({ text: t.textContent ?? "", quad: quadOf(t) }))
      .filter((t): t is { text: string; quad: Pt[] } => t.quad !== undefined);
    counted.texts += texts.length;
    for (const t of texts) {
      const cut = Math.max(
        box.left - Math.min(...t.quad.map((p) => p.x)),
        Math.max(...t.quad.map((p) => p.x)) - box.right,
        box.top - Math.min(...t.quad.map((p) => p.y)),
        Math.max(...t.quad.map((p) => p.y)) - box.bottom,
      );
      if (cut > tol) {
        problems.push(
          `${where}: text ${short(t.text)} sticks out of the figure by ${cut.toFixed(1)} px`,
        );
      }
    }
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const d = depth(texts[i].quad, texts[j].quad);
        if (d > tol) {
          problems.push(
            `${where}: texts ${short(texts[i].text)} and ${short(texts[j].text)} overlap by ${
              d.toFixed(1)
            } px`,
          );
        }
      }
    }
  };

  const checkGraphics = (root: Element, where: string) => {
    Array.from(root.querySelectorAll("img")).forEach((img, i) => {
      counted.images++;
      const r = img.getBoundingClientRect();
      if (!img.complete || img.naturalWidth === 0) {
        problems.push(`${where}: image ${i + 1} did not load (${img.src.slice(0, 60)})`);
      } else if (visible(img) && (r.width === 0 || r.height === 0)) {
        problems.push(`${where}: image ${i + 1} has no size on the page`);
      }
    });
    const svgs = Array.from(root.querySelectorAll("svg")).filter((s) =>
      !s.parentElement?.closest("svg") && visible(s)
    );
    svgs.forEach((svg, i) => {
      counted.svgs++;
      const r = svg.getBoundingClientRect();
      const drawn = svg.querySelector(
        "path, rect, circle, ellipse, line, polyline, polygon, text, image, use",
      );
      if (r.width === 0 || r.height === 0) problems.push(`${where}: SVG ${i + 1} has no size`);
      else if (!drawn) problems.push(`${where}: SVG ${i + 1} draws nothing`);
      else checkSvgText(svg, svgs.length > 1 ? `${where}, SVG ${i + 1}` : where);
    });
    Array.from(root.querySelectorAll("canvas")).forEach((c, i) => {
      counted.canvases++;
      if (c.width === 0 || c.height === 0) {
        problems.push(`${where}: canvas ${i + 1} has no size`);
        return;
      }
      let ctx: CanvasRenderingContext2D | null = null;
      try {
        ctx = c.getContext("2d");
      } catch { /* a WebGL canvas: not read here */ }
      if (!ctx) return;
      try {
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let painted = false;
        for (let k = 3; k < px.length && !painted; k += 4) painted = px[k] !== 0;
        if (!painted) problems.push(`${where}: canvas ${i + 1} is blank`);
      } catch { /* tainted by another origin: not readable */ }
    });
  };

  if (opts.mode === "figure") {
    const svg = document.querySelector("svg");
    if (!svg) problems.push("no SVG in the page");
    else checkGraphics(document.body, "figure");
    return { problems, outputs, counted };
  }

  const cells = Array.from(document.querySelectorAll(".jp-CodeCell, .cell.code_cell"));
  // classic Notebook 6's model of the notebook (static/notebook/js: notebook.js, codecell.js)
  type ClassicOutput = {
    output_type: string;
    ename?: string;
    evalue?: string;
    data?: Record<string, unknown>;
  };
  type ClassicCell = {
    cell_type: string;
    input_prompt_number: unknown;
    get_text(): string;
    output_area: { outputs: ClassicOutput[] };
  };
  const jupyter = (globalThis as { Jupyter?: { notebook?: { get_cells(): ClassicCell[] } } })
    .Jupyter;
  const modelCells = opts.mode === "live" && jupyter?.notebook
    ? jupyter.notebook.get_cells().filter((c) => c.cell_type === "code")
    : [];
  cells.forEach((cell, ci) => {
    const where = `code cell ${ci + 1}`;
    const outs = Array.from(
      cell.querySelectorAll(opts.mode === "live" ? ".output_subarea" : ".jp-OutputArea-output"),
    );
    outs.forEach((out, oi) => {
      const w = outs.length > 1 ? `${where}, output ${oi + 1}` : where;
      const hasScript = runnable(out);
      if (hasScript) counted.scripts++;
      outputs.push({ where: w, hasScript, tags: tagsOf(out) });
      checkGraphics(out, w);
      // a table or a line wider than the page scrolls sideways: the screenshot (and a printout) cut it
      for (const el of [out, ...Array.from(out.querySelectorAll("pre, table"))]) {
        const wide = el.scrollWidth - el.clientWidth;
        if (wide > tol && getComputedStyle(el).overflowX !== "visible") {
          problems.push(
            `${w}: ${el.tagName.toLowerCase()} is ${wide} px too wide: cut at the right`,
          );
          break;
        }
      }
    });
    const m = modelCells[ci];
    if (!m) return;
    if (m.get_text().trim() !== "" && typeof m.input_prompt_number !== "number") {
      problems.push(`${where}: did not run (prompt ${JSON.stringify(m.input_prompt_number)})`);
    }
    m.output_area.outputs.forEach((o, oi) => {
      if (o.output_type === "error") {
        problems.push(`${where}: error output ${o.ename}: ${String(o.evalue).slice(0, 200)}`);
      }
      const html = o.data?.["text/html"];
      if (typeof html !== "string" || !/<script/i.test(html)) return;
      const parsed = new DOMParser().parseFromString(html, "text/html").body;
      const shown = outs[oi];
      if (shown && runnable(parsed) && tagsOf(shown) === tagsOf(parsed)) {
        problems.push(
          `${where}, output ${oi + 1}: its script drew nothing (same elements as its HTML)`,
        );
      }
    });
  });
  // pictures in the text too (a diagram in a markdown cell)
  Array.from(document.querySelectorAll(".jp-MarkdownCell, .cell.text_cell")).forEach((cell, ci) =>
    checkGraphics(cell, `markdown cell ${ci + 1}`)
  );
  return { problems, outputs, counted };
}

/**
 * Resolves once nothing in the page has changed for `quietMs` (scripts that draw after load, e.g. after a
 * timer), or after `maxMs` at most. Runs inside the page.
 */
export function settle(quietMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      observer.disconnect();
      resolve();
    };
    const observer = new MutationObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    observer.observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
    timer = setTimeout(done, quietMs);
    setTimeout(done, maxMs);
  });
}

/**
 * Resolves when MathJax 2 (which nbconvert's HTML and classic Notebook load) has typeset the page and
 * hidden its "Loading [MathJax]" box, at once where there is no MathJax, or after `maxMs`. Runs inside the
 * page.
 */
export function mathJaxDone(maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, maxMs);
    // deno-lint-ignore no-explicit-any
    const hub = (globalThis as any).MathJax?.Hub;
    if (!hub?.Queue) return resolve();
    hub.Queue(() => resolve());
  });
}
