/**
 * Diagrams the lecture draws by hand, drawn from the kit's numbers: the flow of volume shapes through a
 * network, and where a filter sits over the (padded) input for each output cell.
 *
 * @module
 */
import { outputSize } from "../tf/output_size.ts";
import { Figure } from "./figure.ts";
import { svgToPng } from "./render.ts";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Widest row of a `volumeFlow`, in SVG px (its text at 11-14 px). */
export const FLOW_MAX_WIDTH = 900;
/** Widest `volumeFlow` PNG, in px: about a notebook's output width, so it is shown unscaled. */
export const FLOW_MAX_PNG_WIDTH = 960;

/** One volume of a flow: its size H x W x D and a caption (the layer that made it). */
export interface VolumeStep {
  h: number;
  w: number;
  d: number;
  label?: string;
}

/**
 * The volumes of a network left to right, each drawn as a box whose face is H x W and whose depth is D
 * (sizes compressed so that 224 and 7 both stay visible), captioned `H x W x D`. A long network wraps
 * onto further rows, each at most `FLOW_MAX_WIDTH` px, and the PNG is at most
 * `FLOW_MAX_PNG_WIDTH` px wide, so that a notebook never shrinks the labels to fit a strip.
 *
 * @example
 * ```ts
 * import { volumeFlow } from "convkit/plot/diagrams.ts";
 * import assert from "node:assert/strict";
 * const fig = await volumeFlow([{ h: 32, w: 32, d: 3, label: "input" }, { h: 28, w: 28, d: 6, label: "conv 5x5" }]);
 * assert.ok(fig.size.width > 100);
 * ```
 * @see ../../notebooks/03_zero_padding.ipynb
 */
export async function volumeFlow(
  steps: readonly VolumeStep[],
  opts: { title?: string } = {},
): Promise<Figure> {
  if (steps.length === 0) throw new RangeError("volumeFlow: no volumes to draw");
  const side = (n: number) => n <= 0 ? 2 : 14 + 22 * Math.log2(1 + n); // compressed sizes
  const depth = (n: number) => 4 + 10 * Math.log2(1 + n);
  const titleH = opts.title ? 28 : 6;
  const maxFace = Math.max(...steps.map((s) => side(Math.max(s.h, s.w))));
  const maxDepth = Math.max(...steps.map((s) => depth(s.d)));
  const gap = 58;
  // a long network wraps onto further rows instead of one strip that a notebook would shrink until
  // its labels are unreadable: each row at most FLOW_MAX_WIDTH wide (or one volume, if wider)
  const boxWidth = (s: VolumeStep) => side(s.w) + depth(s.d) * 0.6;
  const rows: VolumeStep[][] = [[]];
  let rowWidth = 16;
  for (const s of steps) {
    const row = rows[rows.length - 1];
    if (row.length > 0 && rowWidth + boxWidth(s) + 24 > FLOW_MAX_WIDTH) {
      rows.push([]);
      rowWidth = 16;
    }
    rows[rows.length - 1].push(s);
    rowWidth += boxWidth(s) + gap;
  }
  const rowH = maxDepth * 0.5 + 6 + maxFace + 44;
  const parts: string[] = [];
  let width = Math.max(280, (opts.title?.length ?? 0) * 8.5 + 24); // the title at 14 px fits
  rows.forEach((row, r) => {
    const boxTop = titleH + r * rowH + maxDepth * 0.5 + 6;
    const ay = boxTop + maxFace / 2;
    let x = 16;
    if (r > 0) { // continued from the row above
      parts.push(
        `<line x1="2" y1="${ay}" x2="${x - 3}" y2="${ay}" stroke="#444" stroke-width="1.5"/>`,
        `<polygon points="${x - 9},${ay - 4} ${x - 2},${ay} ${x - 9},${ay + 4}" fill="#444"/>`,
      );
    }
    row.forEach((s, i) => {
      const fw = side(s.w), fh = side(s.h), dd = depth(s.d);
      const dx = dd * 0.6, dy = dd * 0.5; // oblique projection of the depth axis
      const y = boxTop + (maxFace - fh) / 2;
      const fill = s.h * s.w * s.d === 0 ? "#f8d7da" : "#cfe2ff";
      parts.push(
        `<polygon points="${x},${y} ${x + dx},${y - dy} ${x + dx + fw},${y - dy} ${
          x + fw
        },${y}" fill="#9ec5fe" stroke="#084298"/>`,
        `<polygon points="${x + fw},${y} ${x + fw + dx},${y - dy} ${x + fw + dx},${y - dy + fh} ${
          x + fw
        },${y + fh}" fill="#6ea8fe" stroke="#084298"/>`,
        `<rect x="${x}" y="${y}" width="${fw}" height="${fh}" fill="${fill}" stroke="#084298"/>`,
        `<text x="${x + (fw + dx) / 2}" y="${
          boxTop + maxFace + 18
        }" font-size="12" text-anchor="middle" font-weight="bold">${s.h}x${s.w}x${s.d}</text>`,
      );
      if (s.label) {
        parts.push(
          `<text x="${x + (fw + dx) / 2}" y="${
            boxTop + maxFace + 34
          }" font-size="11" text-anchor="middle">${esc(s.label)}</text>`,
        );
      }
      const next = x + fw + dx + gap;
      const last = i === row.length - 1;
      if (!last || r < rows.length - 1) { // an arrow to the next volume, or off to the next row
        const end = last ? x + fw + dx + 30 : next - 3;
        parts.push(
          `<line x1="${x + fw + dx + 8}" y1="${ay}" x2="${
            end - 7
          }" y2="${ay}" stroke="#444" stroke-width="1.5"/>`,
          `<polygon points="${end - 7},${ay - 4} ${end},${ay} ${end - 7},${ay + 4}" fill="#444"/>`,
        );
      }
      x = next;
    });
    width = Math.max(width, x - gap + 24 + (r < rows.length - 1 ? 24 : 0));
  });
  const height = titleH + rows.length * rowH + 14;
  // the drawing compresses sizes (log scale): say so, since 224 and 112 look alike
  parts.push(
    `<text x="${width - 6}" y="${height - 6}" font-size="10" fill="#555" text-anchor="end">` +
      "sizes drawn on a log scale: the numbers are exact</text>",
  );
  if (opts.title) {
    parts.unshift(
      `<text x="${width / 2}" y="18" font-size="14" font-weight="bold" text-anchor="middle">${
        esc(opts.title)
      }</text>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${
    parts.join("")
  }</svg>`;
  const title = opts.title ?? steps.map((s) => `${s.h}x${s.w}x${s.d}`).join(" -> ");
  return new Figure({ title, png: await svgToPng(svg, Math.min(1.5, FLOW_MAX_PNG_WIDTH / width)) });
}

/** Options of `slidingWindow`. */
export interface SlidingWindowOptions {
  /** Input size N (N x N). */
  n: number;
  /** Filter size F. */
  f: number;
  /** Stride S. */
  stride: number;
  /** Zero padding P (default 0). */
  pad?: number;
  /** Panels at most (default 25): output cells beyond are left out, and the title says so. */
  maxPanels?: number;
  title?: string;
}

/**
 * One small panel per output cell, showing the padded N x N input (padding hatched grey) and the F x F
 * window that produces that cell. The title carries `(N - F + 2P) / S + 1`. Throws the kit's ShapeError when
 * the stride does not fit, as the layers do.
 *
 * @example
 * ```ts
 * import { slidingWindow } from "convkit/plot/diagrams.ts";
 * import assert from "node:assert/strict";
 * const fig = await slidingWindow({ n: 7, f: 3, stride: 2 }); // 3x3 outputs: 9 panels
 * assert.match(fig.title, /\(7 - 3 \+ 0\) \/ 2 \+ 1 = 3/);
 * await assert.rejects(() => slidingWindow({ n: 7, f: 3, stride: 3 }), /2.33 is not an integer/);
 * ```
 * @see ../../notebooks/02_spatial_arithmetic.ipynb
 */
export async function slidingWindow(opts: SlidingWindowOptions): Promise<Figure> {
  const { n, f, stride } = opts;
  const pad = opts.pad ?? 0;
  const out = outputSize(n, f, stride, pad, "slidingWindow");
  const total = out * out, shown = Math.min(total, opts.maxPanels ?? 25);
  const size = n + 2 * pad;
  const cell = Math.max(4, Math.min(14, Math.floor(120 / size)));
  const panel = size * cell, gap = 14, labelH = 14;
  const cols = Math.min(out, Math.ceil(Math.sqrt(shown)) + (out > 5 ? 1 : 0), shown);
  const rows = Math.ceil(shown / cols);
  const formula = `(${n} - ${f} + ${2 * pad}) / ${stride} + 1 = ${out}`;
  const title = opts.title ??
    `N=${n}, F=${f}, S=${stride}, P=${pad}: ${formula}, so ${out}x${out} outputs` +
      (shown < total ? ` (first ${shown} shown)` : "");
  const titleH = 26;
  const width = Math.max(cols * (panel + gap) + gap, 8 * title.length + 20);
  const height = titleH + rows * (panel + labelH + gap) + gap;
  const parts: string[] = [
    `<text x="${width / 2}" y="18" font-size="13" font-weight="bold" text-anchor="middle">${
      esc(title)
    }</text>`,
  ];
  for (let k = 0; k < shown; k++) {
    const oi = Math.floor(k / out), oj = k % out;
    const x0 = gap + (k % cols) * (panel + gap),
      y0 = titleH + Math.floor(k / cols) * (panel + labelH + gap);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const padded = i < pad || j < pad || i >= n + pad || j >= n + pad;
        parts.push(
          `<rect x="${x0 + j * cell}" y="${y0 + i * cell}" width="${cell}" height="${cell}" fill="${
            padded ? "#dddddd" : "#ffffff"
          }" stroke="#999" stroke-width="0.5"/>`,
        );
      }
    }
    parts.push(
      `<rect x="${x0 + oj * stride * cell}" y="${y0 + oi * stride * cell}" width="${
        f * cell
      }" height="${
        f * cell
      }" fill="#0d6efd" fill-opacity="0.35" stroke="#0d6efd" stroke-width="2"/>`,
      `<text x="${x0 + panel / 2}" y="${
        y0 + panel + 12
      }" font-size="10" text-anchor="middle">out[${oi},${oj}]</text>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${
    parts.join("")
  }</svg>`;
  return new Figure({ title, png: await svgToPng(svg, 1.5) });
}
