/**
 * Output that updates in place during long loops: a progress bar and a live chart. In the Deno kernel
 * each keeps one output (a display id, updated); outside it (deno test, scripts) the progress bar writes
 * one line to stderr now and then, and the chart does nothing until asked for its figure.
 *
 * `Deno.jupyter` is only read when an update is sent, never at import.
 *
 * @module
 */
import type { MimeBundle } from "../display.ts";
import { lineChart } from "./charts.ts";
import type { Figure } from "./figure.ts";

let counter = 0;

/** Whether this code runs inside Deno's Jupyter kernel. */
export function inKernel(): boolean {
  try {
    return typeof (Deno as unknown as { jupyter?: unknown }).jupyter === "object";
  } catch {
    return false;
  }
}

async function show(bundle: MimeBundle, id: string, update: boolean): Promise<void> {
  const jupyter = (Deno as unknown as {
    jupyter: {
      display(
        b: MimeBundle,
        o: { raw: boolean; display_id: string; update?: boolean },
      ): Promise<void>;
    };
  }).jupyter;
  await jupyter.display(bundle, { raw: true, display_id: id, update });
}

function bar(fraction: number, width = 30): string {
  const full = Math.round(fraction * width);
  return "█".repeat(full) + "░".repeat(width - full);
}

function seconds(s: number): string {
  if (!isFinite(s)) return "?";
  return s < 60
    ? `${s.toFixed(0)}s`
    : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** A progress bar for `total` steps; call `update(done, note)` as work proceeds, `done()` at the end. */
export class Progress {
  readonly #id = `convkit-progress-${++counter}`;
  readonly #t0 = performance.now();
  #shown = false;
  #lastSent = 0;
  #last = 0;

  constructor(readonly total: number, readonly label = "") {
    if (!(total > 0)) throw new RangeError(`Progress: total must be > 0, got ${total}`);
  }

  /** The line shown for `done` of `total` steps. */
  text(done: number, note = ""): string {
    const f = Math.min(1, done / this.total);
    const elapsed = (performance.now() - this.#t0) / 1000;
    const eta = done > 0 ? elapsed * (this.total - done) / done : Infinity;
    return `${this.label ? this.label + " " : ""}${bar(f)} ${
      (100 * f).toFixed(0).padStart(3)
    }% ${done}/${this.total}` +
      ` [${seconds(elapsed)}<${seconds(eta)}]${note ? " " + note : ""}`;
  }

  /**
   * Shows progress. In the kernel: at most about 10 updates a second (and always the last). Elsewhere:
   * one line on stderr at each tenth of the work.
   */
  async update(done: number, note = ""): Promise<void> {
    const tenth = (d: number) => Math.floor((10 * Math.min(d, this.total)) / this.total);
    const crossed = tenth(done) !== tenth(this.#last) ||
      (done >= this.total && this.#last < this.total);
    this.#last = done;
    if (inKernel()) {
      const now = performance.now();
      if (done < this.total && now - this.#lastSent < 100) return;
      this.#lastSent = now;
      await show({ "text/plain": this.text(done, note) }, this.#id, this.#shown);
      this.#shown = true;
    } else if (crossed) {
      console.error(this.text(done, note));
    }
  }

  /** Marks the work finished. */
  async done(note = ""): Promise<void> {
    this.#lastSent = 0;
    if (this.#last >= this.total) this.#last = this.total - 1; // make the final line show
    await this.update(this.total, note);
  }
}

/**
 * Iterates `items` while showing a progress bar.
 *
 * @example
 * ```ts
 * import { progress } from "convkit/plot/live.ts";
 * import assert from "node:assert/strict";
 * let sum = 0;
 * for await (const v of progress([1, 2, 3], "adding")) sum += v;
 * assert.equal(sum, 6);
 * ```
 */
export async function* progress<T>(items: readonly T[], label = ""): AsyncGenerator<T> {
  const bar = new Progress(items.length, label);
  for (let i = 0; i < items.length; i++) {
    yield items[i];
    await bar.update(i + 1);
  }
}

/**
 * A line chart that redraws in place as points are added (loss and accuracy curves during training).
 * Redraws at most every `everyMs` milliseconds (default 1000), since each redraw renders a PNG.
 */
export class LiveChart {
  readonly #id = `convkit-live-${++counter}`;
  readonly series: Record<string, number[]> = {};
  #shown = false;
  #lastDraw = 0;

  constructor(
    readonly opts: { title?: string; xTitle?: string; yTitle?: string; everyMs?: number } = {},
  ) {}

  /** Appends one value to each named series, and redraws if it is time. */
  async push(values: Record<string, number>): Promise<void> {
    for (const [k, v] of Object.entries(values)) (this.series[k] ??= []).push(v);
    if (performance.now() - this.#lastDraw >= (this.opts.everyMs ?? 1000)) await this.draw();
  }

  /** The current figure. */
  figure(): Promise<Figure> {
    return lineChart(this.series, this.opts);
  }

  /** Redraws now (in the kernel). */
  async draw(): Promise<void> {
    this.#lastDraw = performance.now();
    if (!inKernel()) return;
    await show((await this.figure()).bundle(), this.#id, this.#shown);
    this.#shown = true;
  }
}
