/**
 * Charts as vega-lite specs, interactive (tooltips) where the front end renders vega-lite and a PNG
 * rendered headless everywhere else: bars, lines, heatmaps with values, and confusion matrices.
 *
 * @module
 */
import { Figure } from "./figure.ts";
import { svgToPng, type VegaLiteSpec, vegaLiteToSvg } from "./render.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/**
 * Any vega-lite spec as a figure (the spec for interactive front ends, its rendering as PNG).
 *
 * @example
 * ```ts
 * import { vegaLite } from "convkit/plot/charts.ts";
 * import assert from "node:assert/strict";
 * const fig = await vegaLite({ data: { values: [{ x: 1, y: 2 }] }, mark: "point", encoding: { x: { field: "x" }, y: { field: "y" } } });
 * assert.ok(fig.size.width > 50);
 * ```
 */
export async function vegaLite(
  spec: VegaLiteSpec,
  title = String(spec.title ?? "chart"),
): Promise<Figure> {
  const full = { $schema: SCHEMA, ...spec };
  return new Figure({ title, vegaLite: full, png: await svgToPng(await vegaLiteToSvg(full)) });
}

/** Options shared by the charts. */
export interface ChartOptions {
  title?: string;
  width?: number;
  height?: number;
}

/**
 * A bar chart of `rows`, one bar per row: `x` names the category field and `y` the value field.
 *
 * @example
 * ```ts
 * import { barChart } from "convkit/plot/charts.ts";
 * import assert from "node:assert/strict";
 * const fig = await barChart([{ layer: "conv1", params: 456 }, { layer: "fc", params: 1610 }], "layer", "params");
 * assert.equal(fig.vegaLite?.mark.type, "bar");
 * ```
 */
export async function barChart(
  rows: readonly Record<string, unknown>[],
  x: string,
  y: string,
  opts: ChartOptions & { color?: string; sort?: boolean; logScale?: boolean } = {},
): Promise<Figure> {
  const title = opts.title ?? `${y} by ${x}`;
  // each bar as wide as its longest label (about 7 px a character at the axis' font), up to 700 px in
  // all; where the labels would still touch, they are turned
  const longest = Math.max(1, ...rows.map((r) => String(r[x] ?? "").length));
  const width = opts.width ??
    Math.max(200, Math.min(700, rows.length * Math.max(28, longest * 7 + 8)));
  const turn = (width / Math.max(1, rows.length)) < longest * 7 + 4;
  return await vegaLite({
    title,
    width,
    height: opts.height ?? 220,
    data: { values: rows },
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: {
        field: x,
        type: "nominal",
        sort: opts.sort ? "-y" : null,
        axis: { labelAngle: turn ? -45 : 0, labelLimit: 0 },
      },
      y: {
        field: y,
        type: "quantitative",
        scale: opts.logScale ? { type: "log" } : {},
        ...(opts.logScale ? { title: `${y} (log scale)` } : {}),
      },
      ...(opts.color ? { color: { field: opts.color, type: "nominal" } } : {}),
    },
  }, title);
}

/**
 * Line chart of one or more series: `series` maps a name to its y values (x = 1, 2, 3, ... as epochs
 * and steps are numbered, or `x`); whole-number x values get whole-number ticks.
 *
 * @example
 * ```ts
 * import { lineChart } from "convkit/plot/charts.ts";
 * import assert from "node:assert/strict";
 * const fig = await lineChart({ loss: [2.3, 1.9, 1.5] }, { xTitle: "epoch" });
 * assert.equal(fig.vegaLite?.data.values.length, 3);
 * ```
 */
export async function lineChart(
  series: Record<string, readonly number[]>,
  opts: ChartOptions & { x?: readonly number[]; xTitle?: string; yTitle?: string } = {},
): Promise<Figure> {
  // without x, points are numbered from 1, as epochs and steps are in the tables beside the chart
  const values = Object.entries(series).flatMap(([name, ys]) =>
    ys.map((y, i) => ({ series: name, x: opts.x?.[i] ?? i + 1, y }))
  );
  const whole = values.every((v) => Number.isInteger(v.x));
  const title = opts.title ?? Object.keys(series).join(", ");
  return await vegaLite({
    title,
    width: opts.width ?? 420,
    height: opts.height ?? 220,
    data: { values },
    mark: { type: "line", point: values.length <= 60, tooltip: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: opts.xTitle ?? "step",
        ...(whole ? { axis: { tickMinStep: 1, format: "d" } } : {}),
      },
      y: {
        field: "y",
        type: "quantitative",
        title: opts.yTitle ?? "value",
        scale: { zero: false },
      },
      color: { field: "series", type: "nominal" },
    },
  }, title);
}

/**
 * A heatmap of a matrix (rows x cols), with each cell's value written in it when `values` is true
 * (default for up to 400 cells).
 *
 * Maps that are compared side by side should share one colour scale: pass the same `domain`
 * (`[low, high]`, the values at the two ends of the scale) to each. `windows` outlines the windows of
 * a sliding operation (`size` x `size` cells every `stride` cells, as pooling reads them; windows that
 * would pass the edge are not drawn).
 *
 * Throws `RangeError` for ragged rows, a value that is not finite, a `domain` whose low end is not
 * below its high end, or `windows` whose size or stride is not a positive whole number.
 *
 * @example
 * ```ts
 * import { heatmap } from "convkit/plot/charts.ts";
 * import assert from "node:assert/strict";
 * const fig = await heatmap([[1, 1, 2, 4], [5, 6, 7, 8]]);
 * assert.equal(fig.vegaLite?.layer.length, 2); // cells and their values
 * ```
 */
export async function heatmap(
  matrix: readonly (readonly number[])[],
  opts: ChartOptions & {
    rowLabels?: readonly string[];
    colLabels?: readonly string[];
    values?: boolean;
    scheme?: string;
    format?: string;
    domain?: readonly [low: number, high: number];
    windows?: { size: number; stride: number };
  } = {},
): Promise<Figure> {
  const rows = matrix.length, cols = matrix[0]?.length ?? 0;
  const { domain, windows } = opts;
  if (
    domain && !(Number.isFinite(domain[0]) && Number.isFinite(domain[1]) && domain[0] < domain[1])
  ) {
    throw new RangeError(
      `heatmap: colour scale domain [${domain}] must be [low, high] with low < high`,
    );
  }
  if (
    windows &&
    !([windows.size, windows.stride].every((v) => Number.isInteger(v) && v > 0))
  ) {
    throw new RangeError(
      `heatmap: windows need a whole size and stride of at least 1 (got size ${windows.size}, stride ${windows.stride})`,
    );
  }
  matrix.forEach((r, i) => {
    if (r.length !== cols) {
      throw new RangeError(`heatmap: row ${i} has ${r.length} values, row 0 has ${cols}`);
    }
    const j = r.findIndex((v) => !Number.isFinite(v));
    if (j >= 0) throw new RangeError(`heatmap: cell [${i}, ${j}] is ${r[j]}: it cannot be drawn`);
  });
  const cells = matrix.flatMap((r, i) =>
    r.map((v, j) => ({
      row: opts.rowLabels?.[i] ?? String(i),
      col: opts.colLabels?.[j] ?? String(j),
      value: v,
    }))
  );
  const showValues = opts.values ?? rows * cols <= 400;
  const size = Math.max(12, Math.min(40, Math.floor(360 / Math.max(rows, cols))));
  const rowOrder = opts.rowLabels ?? Array.from({ length: rows }, (_, i) => String(i));
  const colOrder = opts.colLabels ?? Array.from({ length: cols }, (_, j) => String(j));
  const title = opts.title ?? `${rows}x${cols}`;
  const layer: VegaLiteSpec[] = [{
    mark: { type: "rect", tooltip: true },
    encoding: {
      color: {
        field: "value",
        type: "quantitative",
        scale: { scheme: opts.scheme ?? "viridis", ...(domain ? { domain: [...domain] } : {}) },
      },
    },
  }];
  if (windows) {
    const at = (labels: readonly string[], k: number) => labels[k];
    const outlines = [];
    for (let r = 0; r + windows.size <= rows; r += windows.stride) {
      for (let c = 0; c + windows.size <= cols; c += windows.stride) {
        outlines.push({
          r0: at(rowOrder, r),
          r1: at(rowOrder, r + windows.size - 1),
          c0: at(colOrder, c),
          c1: at(colOrder, c + windows.size - 1),
        });
      }
    }
    layer.push({
      data: { values: outlines },
      mark: { type: "rect", fill: null, stroke: "#d62728", strokeWidth: 2.5 },
      encoding: {
        x: { field: "c0", type: "ordinal", bandPosition: 0 },
        x2: { field: "c1", bandPosition: 1 },
        y: { field: "r0", type: "ordinal", bandPosition: 0 },
        y2: { field: "r1", bandPosition: 1 },
      },
    });
  }
  if (showValues) {
    const flat = matrix.flat();
    const [low, high] = domain ?? [Math.min(...flat), Math.max(...flat)];
    const mid = (low + high) / 2;
    // light text on the dark end of the scale: the low end for viridis, the high end for "blues"
    const darkHigh = (opts.scheme ?? "viridis") !== "viridis";
    layer.push({
      mark: { type: "text", fontSize: Math.min(12, size / 2.5) },
      encoding: {
        text: { field: "value", type: "quantitative", format: opts.format ?? ".3~g" },
        color: {
          condition: { test: `datum.value ${darkHigh ? ">" : "<"} ${mid}`, value: "white" },
          value: "black",
        },
      },
    });
  }
  return await vegaLite({
    title,
    width: opts.width ?? cols * size,
    height: opts.height ?? rows * size,
    data: { values: cells },
    encoding: {
      x: { field: "col", type: "ordinal", sort: colOrder, title: null },
      y: { field: "row", type: "ordinal", sort: rowOrder, title: null },
    },
    layer,
  }, title);
}

/**
 * Counts of (true class, predicted class) pairs: `m[t][p]`.
 *
 * @example
 * ```ts
 * import { confusionCounts } from "convkit/plot/charts.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(confusionCounts([0, 1, 1], [0, 0, 1], 2), [[1, 0], [1, 1]]);
 * ```
 */
export function confusionCounts(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classes: number,
): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(
      `confusionCounts: ${yTrue.length} true labels but ${yPred.length} predictions`,
    );
  }
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i], p = yPred[i];
    if (!(t >= 0 && t < classes && p >= 0 && p < classes)) {
      throw new RangeError(
        `confusionCounts: pair ${i} (${t}, ${p}) is outside 0 .. ${classes - 1}`,
      );
    }
    m[t][p]++;
  }
  return m;
}

/** A confusion matrix: rows are true classes, columns predictions. */
export async function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classNames: readonly string[],
  opts: ChartOptions = {},
): Promise<Figure> {
  const m = confusionCounts(yTrue, yPred, classNames.length);
  const correct = m.reduce((s, r, i) => s + r[i], 0);
  return await heatmap(m, {
    title: opts.title ??
      `confusion matrix (accuracy ${(100 * correct / yTrue.length).toFixed(1)}%)`,
    rowLabels: classNames.map((c) => `true ${c}`),
    colLabels: classNames.map((c) => `pred ${c}`),
    scheme: "blues",
    format: "d",
    ...opts,
  });
}
