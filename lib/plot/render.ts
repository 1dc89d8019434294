/**
 * Headless rendering: vega-lite specs to SVG (vega's "none" renderer), and SVG to PNG (resvg, compiled to
 * wasm, with DejaVu Sans from npm so text looks the same on every machine). No browser, no network.
 *
 * @module
 */
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import * as vega from "vega";
import * as vl from "vega-lite";
// Importing the font package's package.json puts the package in Deno's module graph, so that its font
// files resolve to paths in the npm cache.
import _fontPkg from "dejavu-fonts-ttf/package.json" with { type: "json" };

let ready: Promise<Uint8Array[]> | undefined;

function init(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    const wasm = await Deno.readFile(
      new URL(import.meta.resolve("@resvg/resvg-wasm/index_bg.wasm")),
    );
    await initWasm(wasm);
    return await Promise.all(
      ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"].map((f) =>
        Deno.readFile(new URL(import.meta.resolve(`dejavu-fonts-ttf/ttf/${f}`)))
      ),
    );
  })();
  return ready;
}

let kept = 0;

/**
 * With `CONVKIT_KEEP_SVG=DIR` (set per notebook by `tools/run_notebooks.py`), each SVG drawn is also
 * written to `DIR/001.svg`, `DIR/002.svg`, ... in drawing order, so that `tools/browser_check.ts` can
 * measure its text in a browser (the PNG cannot show where a label was cut). Otherwise nothing.
 */
async function keepSvg(svg: string): Promise<void> {
  // asked, not requested: without env permission (a script, not a test run) nobody gets a prompt
  const allowed = Deno.permissions.querySync?.({ name: "env", variable: "CONVKIT_KEEP_SVG" });
  if (allowed?.state !== "granted") return;
  const dir = Deno.env.get("CONVKIT_KEEP_SVG");
  if (!dir) return;
  kept += 1;
  await Deno.writeTextFile(`${dir}/${String(kept).padStart(3, "0")}.svg`, svg);
}

/**
 * Renders SVG text to PNG bytes, at `scale` times the SVG's size.
 *
 * @example
 * ```ts
 * import { svgToPng } from "convkit/plot/render.ts";
 * import { pngSize } from "convkit/plot/png.ts";
 * import assert from "node:assert/strict";
 * const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="2" y="15">hi</text></svg>';
 * assert.deepEqual(pngSize(await svgToPng(svg, 2)), { width: 80, height: 40 });
 * ```
 */
export async function svgToPng(svg: string, scale = 1): Promise<Uint8Array> {
  await keepSvg(svg);
  const fonts = await init();
  const r = new Resvg(svg, {
    font: {
      fontBuffers: fonts,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
      loadSystemFonts: false,
    },
    fitTo: { mode: "zoom", value: scale },
    background: "white",
  });
  const png = r.render().asPng();
  r.free();
  return png;
}

/** A vega-lite spec (any version-5-compatible spec; vega-lite 6 compiles it). */
// deno-lint-ignore no-explicit-any
export type VegaLiteSpec = Record<string, any>;

/** Renders a vega-lite spec to SVG headless. */
export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const compiled = vl.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
