/**
 * A figure: what a notebook displays. Every figure has a static PNG (shown by classic Notebook,
 * nbconvert HTML and GitHub) and, where it has one, an interactive form that JupyterLab and VS Code
 * render instead: vega-lite for charts, plotly for hover and 3D.
 *
 * Figures are values: displaying one (the last expression of a cell) sends its MIME bundle; nothing
 * here touches `Deno.jupyter`, so tests can inspect the bundle and the PNG.
 *
 * @module
 */
import { JUPYTER_DISPLAY, type MimeBundle } from "../display.ts";
import { pngSize, toBase64 } from "./png.ts";
import type { VegaLiteSpec } from "./render.ts";

/** MIME type JupyterLab and VS Code render vega-lite specs for. */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
/** MIME type of plotly figures (VS Code built in; JupyterLab with the plotly extension). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A plotly figure: traces and layout, as plotly.js takes them. */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
}

/** What a figure holds. */
export interface FigureParts {
  title: string;
  png: Uint8Array;
  vegaLite?: VegaLiteSpec;
  plotly?: PlotlyFigure;
}

/** A displayable figure with its PNG fallback. */
export class Figure {
  readonly title: string;
  readonly png: Uint8Array;
  readonly vegaLite?: VegaLiteSpec;
  readonly plotly?: PlotlyFigure;

  constructor(parts: FigureParts) {
    this.title = parts.title;
    this.png = parts.png;
    this.vegaLite = parts.vegaLite;
    this.plotly = parts.plotly;
  }

  /** Width and height of the PNG in pixels. */
  get size(): { width: number; height: number } {
    return pngSize(this.png);
  }

  /** The MIME bundle a front end receives. No text/html: JupyterLab would rank it above vega-lite. */
  bundle(): MimeBundle {
    const b: MimeBundle = {};
    if (this.vegaLite) b[VEGALITE_MIME] = this.vegaLite;
    if (this.plotly) b[PLOTLY_MIME] = this.plotly;
    b["image/png"] = toBase64(this.png);
    b["text/plain"] = `[figure: ${this.title}]`;
    return b;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle();
  }

  /** Writes the PNG to `path`. */
  async save(path: string): Promise<void> {
    await Deno.writeFile(path, this.png);
  }
}
