/**
 * Displayable values for notebooks: objects with `[Symbol.for("Jupyter.display")]` that the Deno kernel
 * shows by their MIME bundle. Nothing here touches `Deno.jupyter`, so `deno test` covers it too.
 *
 * @module
 */

/** The key the Deno kernel looks for on a value to display it. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle: MIME type to content. */
export type MimeBundle = Record<string, unknown>;

/** A value the kernel displays with `bundle`. */
export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** Wraps a MIME bundle as a displayable value. */
export function displayable(bundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function cellText(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : String(v);
  return String(v);
}

/**
 * A table as HTML (classic Notebook, JupyterLab, VS Code, nbconvert, GitHub), markdown and plain text.
 *
 * @param rows one object per row; columns are the keys of the first row unless `columns` is given
 *
 * @example
 * ```ts
 * import { table, JUPYTER_DISPLAY } from "convkit/display.ts";
 * import assert from "node:assert/strict";
 * const t = table([{ layer: "conv1", output: "28x28x6", weights: 450 }]);
 * const bundle = t[JUPYTER_DISPLAY]();
 * assert.match(String(bundle["text/html"]), /<td>28x28x6<\/td>/);
 * assert.match(String(bundle["text/markdown"]), /\| conv1 \| 28x28x6 \| 450 \|/);
 * ```
 */
export function table(
  rows: readonly Record<string, unknown>[],
  columns?: readonly string[],
): Displayable {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => cols.map((c) => cellText(r[c])));
  const html = `<table><thead><tr>${
    cols.map((c) => `<th>${escapeHtml(c)}</th>`).join("")
  }</tr></thead><tbody>${
    cells.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`;
  const md = [
    `| ${cols.join(" | ")} |`,
    `| ${cols.map(() => "---").join(" | ")} |`,
    ...cells.map((r) => `| ${r.join(" | ")} |`),
  ]
    .join("\n");
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (r: readonly string[]) => r.map((v, i) => v.padEnd(widths[i])).join("  ");
  const text = [line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
  return displayable({ "text/html": html, "text/markdown": md, "text/plain": text });
}
