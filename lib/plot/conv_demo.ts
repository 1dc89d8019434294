/**
 * The CS231n convolution demo, live in a notebook: an input volume (padded), K filters with their biases
 * and the output volume, stepping through every output with its multiply-adds; controls for N, F, S, P
 * and K refuse settings that do not fit with the kit's ShapeError text.
 *
 * The numbers shown first are the kit's (drawn with `Rng`, convolved by tfjs conv2d, the library op, and
 * sized by `tf/output_size.ts`); the browser redoes the same arithmetic when a control changes
 * (`conv_demo_widget.ts`, tested against the kit over every setting). The display is self-contained
 * (no network) and works where scripts do not run: the HTML itself is the first step as tables, and
 * the bundle carries an SVG of it for front ends without HTML.
 *
 * Output size `(N - F + 2P) / S + 1` and the demo's layout (input 0..2, weights -1..1, biases 1 and 0,
 * stride 2, pad 1) follow CS231n Lecture 7 and its notes' demo.
 *
 * @see https://cs231n.github.io/convolutional-networks/#conv (the demo this one follows)
 * @see ../../notebooks/04_conv_layer_summary.ipynb
 * @module
 */
import { JUPYTER_DISPLAY, type MimeBundle } from "../display.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { conv2dForwardTf } from "../tf/layers.ts";
import { outputSize } from "../tf/output_size.ts";
import {
  convDemoCore,
  convDemoCoreSource,
  type ConvDemoData,
  type ConvDemoSettings,
} from "./conv_demo_widget.ts";

export type { ConvDemoData, ConvDemoSettings } from "./conv_demo_widget.ts";

/** The lecture's demo: 5x5x3 input, pad 1 (7x7x3), two 3x3x3 filters, stride 2: output 3x3x2. */
export const CS231N_DEMO: Readonly<ConvDemoSettings> = Object.freeze({
  n: 5,
  f: 3,
  stride: 2,
  pad: 1,
  k: 2,
});

const core = convDemoCore();

/**
 * The demo's numbers for `settings`: input 0..2 and weights -1..1 drawn by `new Rng(seed)` (x first,
 * then w, as `convDemoCore().draw`), biases 1, 0, 1, 0, and the output of tfjs conv2d (the library op).
 *
 * @param settings N, F, S, P, K within the controls' ranges (N 3..9, F 1..5, S 1..3, P 0..2, K 1..4)
 * @param seed seed of the kit's `Rng`
 * @returns x `[N, N, 3]`, w `[F, F, 3, K]`, b `[K]`, out `[H', W', K]` with `H' = (N - F + 2P) / S + 1`
 * @throws {RangeError} when a setting is not a whole number in its control's range
 * @throws {ShapeError} when the filter does not fit (`outputSize`'s message, e.g. "... = 2.50 is not an integer")
 *
 * @example
 * ```ts
 * import { convDemoData, CS231N_DEMO } from "convkit/plot/conv_demo.ts";
 * import assert from "node:assert/strict";
 * const d = convDemoData(CS231N_DEMO, 0);
 * assert.equal(d.out.length, 3 * 3 * 2);
 * assert.equal(d.formula, "(5 - 3 + 2) / 2 + 1 = 3");
 * assert.throws(() => convDemoData({ ...CS231N_DEMO, stride: 3 }), /\(5 - 3 \+ 2\) \/ 3 \+ 1 = 2\.33 is not an integer/);
 * ```
 * @see ../../notebooks/04_conv_layer_summary.ipynb
 */
export function convDemoData(
  settings: Readonly<ConvDemoSettings> = CS231N_DEMO,
  seed = 0,
): ConvDemoData {
  for (const key of Object.keys(core.ranges) as (keyof ConvDemoSettings)[]) {
    const [lo, hi] = core.ranges[key], v = settings[key];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`convDemo: ${key} must be a whole number in ${lo}..${hi}, got ${v}`);
    }
  }
  const { n, f, stride, pad, k } = settings, c = core.channels;
  const size = outputSize(n, f, stride, pad, "convDemo");
  const rng = new Rng(seed);
  const x = Array.from({ length: n * n * c }, () => rng.int(3));
  const w = Array.from({ length: f * f * c * k }, () => rng.int(3) - 1);
  const b = Array.from({ length: k }, (_, i) => i % 2 === 0 ? 1 : 0);
  const { out } = conv2dForwardTf(
    tensor(x, [1, n, n, c]),
    tensor(w, [f, f, c, k]),
    tensor(b, [k]),
    { stride, pad },
  );
  return {
    settings: { n, f, stride, pad, k },
    seed,
    x,
    w,
    b,
    out: Array.from(out.data),
    size,
    formula: `(${n} - ${f} + ${2 * pad}) / ${stride} + 1 = ${size}`,
  };
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The first step (output o[0,0,0]) as an SVG picture: input slices, filters, output, the sum. */
function firstStepSvg(d: ConvDemoData): string {
  const { n, f, pad, k: kk } = d.settings, np = n + 2 * pad, c = core.channels, size = d.size;
  const cell = 22, gap = 26, head = 16, top = 36;
  const parts: string[] = [];
  let x0 = 10;
  const grid = (
    x: number,
    y: number,
    h: number,
    w: number,
    v: (i: number, j: number) => number,
    fill: (i: number, j: number) => string,
    grey: (i: number, j: number) => boolean,
  ) => {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        parts.push(
          `<rect x="${x + j * cell}" y="${y + i * cell}" width="${cell}" height="${cell}" fill="${
            fill(i, j) || "#ffffff"
          }" stroke="#bbbbbb"/>`,
          `<text x="${x + j * cell + cell / 2}" y="${
            y + i * cell + 15
          }" font-size="12" text-anchor="middle" fill="${grey(i, j) ? "#999999" : "#000000"}">${
            v(i, j)
          }</text>`,
        );
      }
    }
    return h * cell;
  };
  const label = (x: number, y: number, s: string) =>
    parts.push(`<text x="${x}" y="${y}" font-size="12">${esc(s)}</text>`);
  let bottom = 0;
  // input
  let y = top;
  label(x0, y, `Input (+pad ${pad}) ${np}x${np}x${c}`);
  for (let ch = 0; ch < c; ch++) {
    label(x0, y + head, `x[:,:,${ch}]`);
    y += head + 4 + grid(
      x0,
      y + head + 4,
      np,
      np,
      (i, j) => {
        const ih = i - pad, iw = j - pad;
        return ih < 0 || iw < 0 || ih >= n || iw >= n ? 0 : d.x[(ih * n + iw) * c + ch];
      },
      (i, j) => i < f && j < f ? "#cfe2ff" : "",
      (i, j) => i < pad || j < pad || i >= n + pad || j >= n + pad,
    ) + 6;
  }
  bottom = Math.max(bottom, y);
  x0 += Math.max(np * cell, 150) + gap;
  // filters
  for (let q = 0; q < kk; q++) {
    y = top;
    label(x0, y, `Filter W${q} ${f}x${f}x${c}`);
    for (let ch = 0; ch < c; ch++) {
      label(x0, y + head, `w${q}[:,:,${ch}]`);
      y += head + 4 + grid(
        x0,
        y + head + 4,
        f,
        f,
        (i, j) => d.w[((i * f + j) * c + ch) * kk + q],
        () => q === 0 ? "#ffe0b3" : "",
        () => false,
      ) + 6;
    }
    label(x0, y + head, `bias b${q}`);
    y += head + 4 + grid(
      x0,
      y + head + 4,
      1,
      1,
      () => d.b[q],
      () => q === 0 ? "#ffe0b3" : "",
      () => false,
    ) + 6;
    bottom = Math.max(bottom, y);
    x0 += Math.max(f * cell, 110) + gap;
  }
  // output
  y = top;
  label(x0, y, `Output ${size}x${size}x${kk}`);
  for (let q = 0; q < kk; q++) {
    label(x0, y + head, `o[:,:,${q}]`);
    y += head + 4 + grid(
      x0,
      y + head + 4,
      size,
      size,
      (i, j) => d.out[(i * size + j) * kk + q],
      (i, j) => q === 0 && i === 0 && j === 0 ? "#c7f0c7" : "",
      () => false,
    ) + 6;
  }
  bottom = Math.max(bottom, y);
  x0 += Math.max(size * cell, 110) + gap;
  // the first step's multiply-adds
  const t = core.terms(d, 0, 0, 0);
  const num = (v: number) => v < 0 ? `(${v})` : String(v);
  const lines = [
    ...t.channels.map((list, ch) =>
      `channel ${ch}: ${list.map((p) => `${num(p.x)}*${num(p.w)}`).join(" + ")} = ${t.sums[ch]}`
    ),
    `o[0,0,0] = ${t.sums.map(num).join(" + ")} + ${num(t.bias)} (bias b0) = ${t.total}`,
  ];
  lines.forEach((s, i) => label(10, bottom + 18 + i * 16, s));
  const title = `Convolution, first step: ${n}x${n}x${c} input, ${kk} filters ${f}x${f}x${c}, ` +
    `stride ${d.settings.stride}, pad ${pad}: ${d.formula}`;
  const longest = Math.max(...lines.map((s) => s.length * 7), title.length * 8);
  const width = Math.max(x0, 20 + longest), height = bottom + 18 + lines.length * 16 + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="DejaVu Sans, sans-serif"><rect width="100%" height="100%" fill="#ffffff"/>` +
    `<text x="10" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${
      parts.join("")
    }</svg>`;
}

let displays = 0;

/** The demo as a displayable value: `text/html` (live widget), `image/svg+xml` (first step), `text/plain`. */
export class ConvDemo {
  /** The numbers shown first (the kit's). */
  readonly data: ConvDemoData;
  /** The root element's id, unique per display. */
  readonly id: string;

  constructor(data: ConvDemoData, id: string) {
    this.data = data;
    this.id = id;
  }

  /** The output volume's shape `[H', W', K]`. */
  get shape(): [number, number, number] {
    return [this.data.size, this.data.size, this.data.settings.k];
  }

  /** The first step as SVG text. */
  svg(): string {
    return firstStepSvg(this.data);
  }

  /**
   * The widget: the first step as plain HTML tables (what a front end that runs no script shows),
   * then a script that makes it live. No external resources.
   */
  html(): string {
    const id = this.id;
    const json = JSON.stringify(this.data).replace(/</g, "\\u003c");
    const src = convDemoCoreSource().replace(/<\/(script)/gi, "<\\/$1");
    return `<div id="${id}" class="convkit-conv-demo">` +
      core.render(this.data, 0, { id, controls: false }) +
      `<div style="color:#666;font-size:11px;font-family:sans-serif;">First step only: the controls ` +
      `(N, F, S, P, K and stepping) appear where the notebook's scripts run (a trusted notebook, ` +
      `VS Code, nbconvert HTML).</div></div>\n<script>(function () {\n` +
      `var core = (${src})();\nvar data = ${json};\nvar id = ${JSON.stringify(id)};\n` +
      // the element just before this script (right even when an output is shown twice), else the
      // one with its id; when neither is there yet, try again for 10 s
      `var me = document.currentScript;\nvar tries = 0;\nfunction start() {\n` +
      `  var prev = me && me.previousElementSibling;\n` +
      `  var el = prev && prev.id === id ? prev : document.getElementById(id);\n` +
      `  if (el) core.mount(el, data);\n  else if (tries++ < 100) setTimeout(start, 100);\n}\n` +
      `start();\n})();</script>`;
  }

  /** The MIME bundle: HTML ranks first in every front end that has it; the SVG is the fallback. */
  bundle(): MimeBundle {
    const { n, f, stride, pad, k } = this.data.settings;
    return {
      "text/html": this.html(),
      "image/svg+xml": this.svg(),
      "text/plain": `[conv demo: ${n}x${n}x3 input, pad ${pad}, ${k} filters ${f}x${f}x3, ` +
        `stride ${stride}: output ${this.shape.join("x")}]`,
    };
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle();
  }
}

/**
 * The CS231n convolution demo for a notebook (default: the lecture's 5x5x3 input, pad 1, two 3x3x3
 * filters, stride 2, output 3x3x2). Display it as a cell's last value.
 *
 * @param settings N, F, S, P, K (see `convDemoData`)
 * @param opts `seed` of the kit's `Rng` (default 0); `id` of the root element (default: unique per
 *   display, `convdemo-<n>-<random hex>`, so demos of two notebooks on one page do not collide)
 * @throws {RangeError} and {ShapeError} as `convDemoData`; {RangeError} for an `id` that is not a plain HTML id
 *
 * @example
 * ```ts
 * import { convDemo } from "convkit/plot/conv_demo.ts";
 * import { JUPYTER_DISPLAY } from "convkit/display.ts";
 * import assert from "node:assert/strict";
 * const demo = convDemo();
 * assert.deepEqual(demo.shape, [3, 3, 2]);
 * assert.match(String(demo[JUPYTER_DISPLAY]()["text/html"]), /<script>/);
 * ```
 * @see ../../notebooks/04_conv_layer_summary.ipynb
 */
export function convDemo(
  settings: Readonly<ConvDemoSettings> = CS231N_DEMO,
  opts: { seed?: number; id?: string } = {},
): ConvDemo {
  const data = convDemoData(settings, opts.seed ?? 0);
  const tag = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (v) => v.toString(16).padStart(2, "0"),
  )
    .join("");
  if (opts.id !== undefined && !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(opts.id)) {
    // the id goes into the page's HTML and script: letters, digits, _ and - only
    throw new RangeError(
      `convDemo: id ${
        JSON.stringify(opts.id)
      } must be a letter then up to 63 letters, digits, _ or -`,
    );
  }
  return new ConvDemo(data, opts.id ?? `convdemo-${++displays}-${tag}`);
}
