/**
 * Plots for the notebooks. Every figure is a value with a PNG that every front end shows and, where it
 * has one, an interactive form (vega-lite, plotly) for JupyterLab and VS Code.
 *
 * @module
 */
export * from "./figure.ts";
export * from "./charts.ts";
export * from "./images.ts";
export * from "./diagrams.ts";
export * from "./plotly.ts";
export * from "./live.ts";
export { encodePng, pngSize } from "./png.ts";
export * from "./conv_demo.ts";
