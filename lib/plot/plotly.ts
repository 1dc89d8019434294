/**
 * Figures that gain from plotly.js in the front end: hovering over activation maps (value at each
 * neuron) and a 3D view of an input volume with a filter sliding through it. plotly.js cannot render
 * without a browser, so each figure also carries a PNG drawn by the kit.
 *
 * @module
 */
import { checkTensor } from "../layers/checks.ts";
import { outputSize } from "../tf/output_size.ts";
import type { Tensor } from "../tensor.ts";
import { Figure, type PlotlyFigure } from "./figure.ts";
import { activationMaps } from "./images.ts";
import { svgToPng } from "./render.ts";

/**
 * The activation maps of one image as a plotly heatmap with a slider over channels (hover shows row,
 * column and value); the PNG fallback is the grid of all maps (`activationMaps`). With `sharedScale`,
 * every map and the fallback use one colour range (the minimum and maximum over all maps), so a map
 * that barely answers stays dark instead of showing its rounding noise at full contrast.
 *
 * @example
 * ```ts
 * import { activationMapsInteractive } from "convkit/plot/plotly.ts";
 * import { randn, Rng } from "convkit/random.ts";
 * import assert from "node:assert/strict";
 * const fig = await activationMapsInteractive(randn([1, 6, 6, 3], new Rng(0)));
 * assert.equal(fig.plotly?.data.length, 3); // one trace per map
 * ```
 * @see ../../notebooks/06_neuron_view.ipynb
 */
export async function activationMapsInteractive(
  x: Tensor,
  opts: { index?: number; title?: string; sharedScale?: boolean } = {},
): Promise<Figure> {
  checkTensor("activationMapsInteractive", "x", x, 4, "[N, H, W, C]");
  const [, h, w, k] = x.shape;
  const index = opts.index ?? 0;
  // the fallback first: it checks the index and the values
  const fallback = await activationMaps(x, {
    index,
    title: opts.title ?? `${k} activation maps of ${h}x${w}`,
    sharedScale: opts.sharedScale,
  });
  const image = x.data.subarray(index * h * w * k, (index + 1) * h * w * k);
  const shared = opts.sharedScale ? { zmin: Math.min(...image), zmax: Math.max(...image) } : {};
  const title = opts.title ?? `${k} activation maps of ${h}x${w} (hover for values)`;
  const data = Array.from({ length: k }, (_, ch) => ({
    type: "heatmap",
    name: `map ${ch}`,
    visible: ch === 0,
    colorscale: "Greys",
    reversescale: true,
    ...shared,
    z: Array.from(
      { length: h },
      (_, i) =>
        Array.from(
          { length: w },
          (_, j) => Number(x.data[((index * h + i) * w + j) * k + ch].toPrecision(5)),
        ),
    ),
    hovertemplate: "row %{y}, col %{x}<br>value %{z}<extra>map " + ch + "</extra>",
  }));
  const steps = data.map((_, ch) => ({
    label: String(ch),
    method: "restyle",
    args: ["visible", data.map((__, j) => j === ch)],
  }));
  const plotly: PlotlyFigure = {
    data,
    layout: {
      title: { text: title },
      width: 460,
      height: 500,
      yaxis: { autorange: "reversed", scaleanchor: "x" },
      sliders: [{ active: 0, currentvalue: { prefix: "map " }, steps }],
    },
  };
  return new Figure({ title, png: fallback.png, plotly });
}

function box(
  x0: number,
  y0: number,
  z0: number,
  dx: number,
  dy: number,
  dz: number,
  color: string,
  opacity: number,
  name: string,
) {
  const xs = [x0, x0 + dx, x0 + dx, x0, x0, x0 + dx, x0 + dx, x0];
  const ys = [y0, y0, y0 + dy, y0 + dy, y0, y0, y0 + dy, y0 + dy];
  const zs = [z0, z0, z0, z0, z0 + dz, z0 + dz, z0 + dz, z0 + dz];
  return {
    type: "mesh3d",
    name,
    x: xs,
    y: ys,
    z: zs,
    i: [7, 0, 0, 0, 4, 4, 6, 6, 4, 0, 3, 2],
    j: [3, 4, 1, 2, 5, 6, 5, 2, 0, 1, 6, 3],
    k: [0, 7, 2, 3, 6, 7, 1, 1, 5, 5, 7, 6],
    color,
    opacity,
    flatshading: true,
    hoverinfo: "name",
  };
}

/**
 * A W x H x D input volume and an F x F x D filter in 3D (plotly), with a slider that moves the filter
 * along the first row of positions; the PNG fallback draws the volume and the filter at its first
 * position in an oblique projection.
 *
 * @example
 * ```ts
 * import { volumeWithFilter } from "convkit/plot/plotly.ts";
 * import assert from "node:assert/strict";
 * const fig = await volumeWithFilter({ h: 32, w: 32, d: 3, f: 5, stride: 1 });
 * assert.equal(fig.plotly?.data.length, 2);
 * ```
 * @see ../../notebooks/01_convolution_layer.ipynb
 */
export async function volumeWithFilter(
  opts: { h: number; w: number; d: number; f: number; stride: number; title?: string },
): Promise<Figure> {
  const { h, w, d, f, stride } = opts;
  const outW = outputSize(w, f, stride, 0, "volumeWithFilter");
  const title = opts.title ??
    `${h}x${w}x${d} input, ${f}x${f}x${d} filter: ${outW} positions per row`;
  const positions = Array.from({ length: outW }, (_, p) => p * stride);
  const filterAt = (x0: number) => box(x0, 0, 0, f, d, f, "#dc3545", 0.8, `${f}x${f}x${d} filter`);
  const volume = box(0, 0, 0, w, d, h, "#0d6efd", 0.15, `${h}x${w}x${d} input`);
  const steps = positions.map((x0) => {
    const b = filterAt(x0);
    return { label: String(x0), method: "restyle", args: [{ x: [b.x] }, [1]] };
  });
  const plotly: PlotlyFigure = {
    data: [volume, filterAt(0)],
    layout: {
      title: { text: title },
      width: 560,
      height: 480,
      scene: {
        xaxis: { title: { text: "width" } },
        yaxis: { title: { text: "depth" } },
        zaxis: { title: { text: "height" } },
        aspectmode: "data",
      },
      sliders: [{ active: 0, currentvalue: { prefix: "filter at column " }, steps }],
    },
  };
  // static fallback: oblique drawing, depth drawn up and to the right
  const s = Math.max(4, Math.floor(240 / Math.max(h, w))), k = s * 1.2;
  const ox = 30, oy = 40 + d * k * 0.6;
  const prism = (
    x: number,
    y: number,
    ww: number,
    hh: number,
    dd: number,
    fill: string,
    op: number,
  ) => {
    const dx = dd * k * 0.8, dy = dd * k * 0.6;
    return `<polygon points="${x},${y} ${x + dx},${y - dy} ${x + dx + ww},${y - dy} ${
      x + ww
    },${y}" fill="${fill}" fill-opacity="${op}" stroke="#333"/>` +
      `<polygon points="${x + ww},${y} ${x + ww + dx},${y - dy} ${x + ww + dx},${y - dy + hh} ${
        x + ww
      },${y + hh}" fill="${fill}" fill-opacity="${op}" stroke="#333"/>` +
      `<rect x="${x}" y="${y}" width="${ww}" height="${hh}" fill="${fill}" fill-opacity="${op}" stroke="#333"/>`;
  };
  const caption = `the filter spans the full depth (${d}); it slides over ${
    outputSize(h, f, stride, 0, "volumeWithFilter")
  }x${outW} positions`;
  const width = Math.max(ox + w * s + d * k * 0.8 + 40, caption.length * 7 + 20),
    height = oy + h * s + 50;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${
      width / 2
    }" y="18" font-size="13" font-weight="bold" text-anchor="middle">${h}x${w}x${d} input, ${f}x${f}x${d} filter</text>` +
    prism(ox, oy, w * s, h * s, d, "#0d6efd", 0.15) +
    prism(ox, oy, f * s, f * s, d, "#dc3545", 0.7) +
    `<text x="${width / 2}" y="${
      oy + h * s + 24
    }" font-size="12" text-anchor="middle">${caption}</text></svg>`;
  return new Figure({ title, png: await svgToPng(svg, 1.5), plotly });
}
