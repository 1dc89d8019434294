/**
 * The browser half of the convolution demo (`conv_demo.ts`): the few lines of arithmetic the widget
 * redoes in the browser when a control changes (the kit's seeded draws, the output-size check with the
 * kit's ShapeError text, the conv loops) and its HTML. Everything lives inside one function,
 * `convDemoCore`, whose source text (`convDemoCoreSource()`) is what the widget embeds: no imports, no
 * closures over this module, no network, plain ES2020 once Deno strips the types. The kit runs the same
 * function in Deno, so the tests check the embedded arithmetic against the kit's own (`Rng`,
 * `outputSize`, `conv2dForwardTf`) over every setting the controls allow.
 *
 * @module
 */

/** Settings of the demo: input N x N x 3, K filters F x F x 3, stride S, zero padding P. */
export interface ConvDemoSettings {
  /** Input width and height N. */
  n: number;
  /** Filter width and height F. */
  f: number;
  /** Stride S. */
  stride: number;
  /** Zero padding P on every border. */
  pad: number;
  /** Number of filters K (the output depth). */
  k: number;
}

/** What the widget shows: the volumes of one setting, row-major HWC / `[F, F, C, K]` as in the kit. */
export interface ConvDemoData {
  settings: ConvDemoSettings;
  /** Seed of the kit's `Rng` the numbers were drawn with. */
  seed: number;
  /** Input `[N, N, 3]` (unpadded), whole numbers 0..2. */
  x: number[];
  /** Filters `[F, F, 3, K]`, whole numbers -1..1. */
  w: number[];
  /** Biases `[K]`: 1, 0, 1, 0 (CS231n's demo uses 1 and 0). */
  b: number[];
  /** Output `[H', W', K]`. */
  out: number[];
  /** Output width and height H' = W'. */
  size: number;
  /** The output-size arithmetic, e.g. `(5 - 3 + 2) / 2 + 1 = 3`. */
  formula: string;
}

/** The widget's arithmetic and HTML, as returned by `convDemoCore()`. */
export interface ConvDemoCore {
  /** Input depth: always 3, as in the lecture's demo. */
  channels: number;
  /** Smallest and largest value each control offers. */
  ranges: Record<keyof ConvDemoSettings, [number, number]>;
  /** The draws of `Rng(seed)`: x (`int(3)`), then w (`int(3) - 1`); biases 1, 0, 1, 0. */
  draw(s: ConvDemoSettings, seed: number): { x: number[]; w: number[]; b: number[] };
  /** `(n - f + 2p) / s + 1`, or the kit's ShapeError message when it does not fit. */
  outputSize(
    n: number,
    f: number,
    s: number,
    p: number,
    where: string,
  ): { size: number; formula: string } | { error: string };
  /** Naive conv of x `[N, N, 3]` with w `[F, F, 3, K]` and b `[K]`: out `[size, size, K]`. */
  conv(x: number[], w: number[], b: number[], s: ConvDemoSettings, size: number): number[];
  /** One output's multiply-adds: per channel the (input, weight) pairs under the window (0 where padded). */
  terms(d: ConvDemoData, oh: number, ow: number, k: number): {
    channels: { x: number; w: number }[][];
    sums: number[];
    bias: number;
    total: number;
  };
  /** Everything the settings give, or the error that refuses them. */
  compute(s: ConvDemoSettings, seed: number): ConvDemoData | { error: string };
  /** The widget's HTML for data `d` at step `step` (output index in (k, oh, ow) order). */
  render(d: ConvDemoData, step: number, opts: RenderOptions): string;
  /** Makes `root` live: controls for N, F, S, P, K and stepping; `play` steps every `intervalMs` (900). */
  mount(root: WidgetRoot, d: ConvDemoData, intervalMs?: number): void;
}

/** Options of `render`. */
export interface RenderOptions {
  /** Element id prefix (unique per display). */
  id: string;
  /** Draw the controls (the live widget) or not (the static first step). */
  controls: boolean;
  /** Settings the controls show (default: d's). */
  chosen?: ConvDemoSettings;
  /** A refusal to show above the volumes. */
  error?: string;
  /** Whether the step animation runs. */
  playing?: boolean;
}

/** The little of the DOM `mount` uses (so tests can drive it with a fake). */
export interface WidgetRoot {
  /** The element's id: the prefix of the ids inside. */
  id?: string;
  /** False once the element has left the page (the cell re-ran): a running animation then stops. */
  isConnected?: boolean;
  /** Set by `mount`: a second mount of the same element (its script ran again) does nothing. */
  convkitLive?: boolean;
  innerHTML: string;
  addEventListener(type: string, listener: (e: WidgetEvent) => void): void;
}

/** An event as `mount` reads it. */
export interface WidgetEvent {
  target: { getAttribute(name: string): string | null; value?: string } | null;
}

/**
 * Builds the widget's functions. Self-contained on purpose: `convDemoCoreSource()` embeds its text.
 *
 * @returns the arithmetic (`draw`, `outputSize`, `conv`, `terms`, `compute`), `render` and `mount`
 * @example
 * ```ts
 * import { convDemoCore } from "convkit/plot/conv_demo_widget.ts";
 * import assert from "node:assert/strict";
 * const core = convDemoCore();
 * assert.deepEqual(core.outputSize(5, 3, 2, 1, "convDemo"), { size: 3, formula: "(5 - 3 + 2) / 2 + 1 = 3" });
 * assert.match((core.outputSize(6, 3, 2, 0, "convDemo") as { error: string }).error, /= 2\.50 is not an integer/);
 * ```
 */
export function convDemoCore(): ConvDemoCore {
  const channels = 3;
  const ranges: Record<keyof ConvDemoSettings, [number, number]> = {
    n: [3, 9],
    f: [1, 5],
    stride: [1, 3],
    pad: [0, 2],
    k: [1, 4],
  };
  const labels: Record<keyof ConvDemoSettings, string> = {
    n: "N (input)",
    f: "F (filter)",
    stride: "S (stride)",
    pad: "P (pad)",
    k: "K (filters)",
  };

  // mulberry32, as Rng in lib/random.ts: the same seed gives the kit's numbers
  function draw(s: ConvDemoSettings, seed: number) {
    let state = seed >>> 0;
    const int = (n: number) => {
      let t = (state = (state + 0x6d2b79f5) >>> 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const x: number[] = [], w: number[] = [], b: number[] = [];
    for (let i = 0; i < s.n * s.n * channels; i++) x.push(int(3));
    for (let i = 0; i < s.f * s.f * channels * s.k; i++) w.push(int(3) - 1);
    for (let i = 0; i < s.k; i++) b.push(i % 2 === 0 ? 1 : 0);
    return { x, w, b };
  }

  // the messages of outputSize in lib/tf/output_size.ts (and convOutputSize in lib/shape.ts)
  function outputSize(
    n: number,
    f: number,
    s: number,
    p: number,
    where: string,
  ): { size: number; formula: string } | { error: string } {
    if (n + 2 * p < f) {
      return {
        error: `${where}: a ${f}-wide filter does not fit a ${n}-wide input with pad ${p}: ` +
          `${n} + 2*${p} = ${n + 2 * p} < ${f}`,
      };
    }
    const out = (n - f + 2 * p) / s + 1;
    const arithmetic = `(${n} - ${f} + ${2 * p}) / ${s} + 1`;
    if (!Number.isInteger(out)) {
      return {
        error: `${where}: stride ${s} does not fit a ${n}-wide input with a ${f}-wide filter and ` +
          `pad ${p}: ${arithmetic} = ${out.toFixed(2)} is not an integer`,
      };
    }
    return { size: out, formula: `${arithmetic} = ${out}` };
  }

  function conv(x: number[], w: number[], b: number[], s: ConvDemoSettings, size: number) {
    const out: number[] = [];
    for (let oh = 0; oh < size; oh++) {
      for (let ow = 0; ow < size; ow++) {
        for (let k = 0; k < s.k; k++) {
          let sum = b[k];
          for (let i = 0; i < s.f; i++) {
            const ih = oh * s.stride - s.pad + i;
            if (ih < 0 || ih >= s.n) continue;
            for (let j = 0; j < s.f; j++) {
              const iw = ow * s.stride - s.pad + j;
              if (iw < 0 || iw >= s.n) continue;
              for (let c = 0; c < channels; c++) {
                sum += x[(ih * s.n + iw) * channels + c] *
                  w[((i * s.f + j) * channels + c) * s.k + k];
              }
            }
          }
          out.push(sum);
        }
      }
    }
    return out;
  }

  function compute(s: ConvDemoSettings, seed: number): ConvDemoData | { error: string } {
    const r = outputSize(s.n, s.f, s.stride, s.pad, "convDemo");
    if ("error" in r) return { error: r.error };
    const { x, w, b } = draw(s, seed);
    const out = conv(x, w, b, s, r.size);
    return { settings: { ...s }, seed, x, w, b, out, size: r.size, formula: r.formula };
  }

  /** Input value at padded coordinates (0 in the padding). */
  function at(d: ConvDemoData, ph: number, pw: number, c: number) {
    const { n, pad } = d.settings, ih = ph - pad, iw = pw - pad;
    return ih < 0 || iw < 0 || ih >= n || iw >= n ? 0 : d.x[(ih * n + iw) * channels + c];
  }

  function terms(d: ConvDemoData, oh: number, ow: number, k: number) {
    const { f, stride, k: kk } = d.settings;
    const chans: { x: number; w: number }[][] = [], sums: number[] = [];
    for (let c = 0; c < channels; c++) {
      const list: { x: number; w: number }[] = [];
      let sum = 0;
      for (let i = 0; i < f; i++) {
        for (let j = 0; j < f; j++) {
          const xv = at(d, oh * stride + i, ow * stride + j, c);
          const wv = d.w[((i * f + j) * channels + c) * kk + k];
          list.push({ x: xv, w: wv });
          sum += xv * wv;
        }
      }
      chans.push(list);
      sums.push(sum);
    }
    const total = sums.reduce((a, v) => a + v, 0) + d.b[k];
    return { channels: chans, sums, bias: d.b[k], total };
  }

  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const cellStyle = "width:1.7em;height:1.5em;text-align:center;border:1px solid #bbb;padding:0;";

  /** One H x W slice as a table; `mark(i, j)` gives a cell's background, `grey(i, j)` greys its text. */
  function grid(
    h: number,
    w: number,
    value: (i: number, j: number) => number,
    mark: (i: number, j: number) => string,
    grey: (i: number, j: number) => boolean,
  ) {
    let html = '<table style="border-collapse:collapse;margin:2px 0 8px 0;font-size:13px;">';
    for (let i = 0; i < h; i++) {
      html += "<tr>";
      for (let j = 0; j < w; j++) {
        const bg = mark(i, j);
        // <b> as well as the colour: a front end that strips styles (an untrusted notebook) keeps it
        html += `<td style="${cellStyle}${bg ? `background-color:${bg};` : ""}${
          grey(i, j) ? "color:#999;" : ""
        }">${bg ? `<b>${value(i, j)}</b>` : value(i, j)}</td>`;
      }
      html += "</tr>";
    }
    return html + "</table>";
  }

  function render(d: ConvDemoData, step: number, opts: RenderOptions) {
    const { n, f, stride, pad, k: kk } = d.settings, size = d.size, np = n + 2 * pad;
    const total = size * size * kk;
    step = ((step % total) + total) % total;
    // CS231n's order: every position of o[:,:,0], then of o[:,:,1], ...
    const k = Math.floor(step / (size * size)),
      oh = Math.floor(step / size) % size,
      ow = step % size;
    const id = opts.id;
    const blue = "#cfe2ff", green = "#c7f0c7", orange = "#ffe0b3";
    const inWin = (i: number, j: number) =>
      i >= oh * stride && i < oh * stride + f && j >= ow * stride && j < ow * stride + f;
    let html = `<div style="font-family:monospace;font-size:13px;line-height:1.3;">`;
    html +=
      `<div style="font-weight:bold;margin-bottom:4px;">Convolution: input ${n}x${n}x${channels}` +
      ` (padded to ${np}x${np}), ${kk} filter${
        kk > 1 ? "s" : ""
      } ${f}x${f}x${channels}, stride ${stride},` +
      ` pad ${pad}: output ${size}x${size}x${kk}, ${esc(d.formula)}</div>`;
    if (opts.controls) {
      const chosen = opts.chosen ?? d.settings;
      html += `<div style="margin-bottom:6px;">`;
      for (const key of ["n", "f", "stride", "pad", "k"] as (keyof ConvDemoSettings)[]) {
        html += `<label style="margin-right:10px;">${
          labels[key]
        } <select data-setting="${key}" id="${id}-${key}">`;
        for (let v = ranges[key][0]; v <= ranges[key][1]; v++) {
          html += `<option value="${v}"${v === chosen[key] ? " selected" : ""}>${v}</option>`;
        }
        html += `</select></label>`;
      }
      html += `<br><button data-action="prev" id="${id}-prev">&#9664; prev</button> ` +
        `<button data-action="play" id="${id}-play">${opts.playing ? "pause" : "play"}</button> ` +
        `<button data-action="next" id="${id}-next">next &#9654;</button> ` +
        `<span id="${id}-step">step ${step + 1} of ${total}</span></div>`;
      if (opts.error) {
        html += `<div id="${id}-error" style="color:#b00020;margin-bottom:6px;">refused: ` +
          `${esc(opts.error)} (showing the last setting that fits)</div>`;
      }
    }
    // a layout table, not flex boxes: columns survive a sanitizer that strips styles
    const col = (extra: string) =>
      `<td valign="top" style="vertical-align:top;text-align:left;padding:2px 6px;` +
      `background:none;${extra}">`;
    html +=
      `<div style="overflow-x:auto;"><table style="border-collapse:separate;border-spacing:8px 0;margin:0;">` +
      `<tr style="background:none;">`;
    // input volume, padded
    html += `${col("")}<div>Input volume (+pad ${pad}) (${np}x${np}x${channels})</div>`;
    for (let c = 0; c < channels; c++) {
      html += `<div>x[:,:,${c}]</div>` + grid(
        np,
        np,
        (i, j) => at(d, i, j, c),
        (i, j) => inWin(i, j) ? blue : "",
        (i, j) => i < pad || j < pad || i >= n + pad || j >= n + pad,
      );
    }
    html += `</td>`;
    // filters and biases
    for (let q = 0; q < kk; q++) {
      const cur = q === k;
      html += col(`border:2px solid ${cur ? "#e08000" : "transparent"};`) +
        `<div>Filter W${q} (${f}x${f}x${channels})</div>`;
      for (let c = 0; c < channels; c++) {
        html += `<div>w${q}[:,:,${c}]</div>` + grid(
          f,
          f,
          (i, j) => d.w[((i * f + j) * channels + c) * kk + q],
          () => cur ? orange : "",
          () => false,
        );
      }
      html += `<div>Bias b${q} (1x1x1)</div>` +
        grid(1, 1, () => d.b[q], () => cur ? orange : "", () => false) + `</td>`;
    }
    // output volume
    html += `${col("")}<div>Output volume (${size}x${size}x${kk})</div>`;
    for (let q = 0; q < kk; q++) {
      html += `<div>o[:,:,${q}]</div>` + grid(
        size,
        size,
        (i, j) => d.out[(i * size + j) * kk + q],
        (i, j) => q === k && i === oh && j === ow ? green : "",
        () => false,
      );
    }
    html += `</td></tr></table></div>`;
    // the step's multiply-adds
    const t = terms(d, oh, ow, k);
    const num = (v: number) => v < 0 ? `(${v})` : String(v);
    html += `<div id="${id}-sum" style="margin-top:4px;">o[${oh},${ow},${k}] = ` +
      `x[${oh * stride}:${oh * stride + f}, ${ow * stride}:${ow * stride + f}, :] · W${k} + b${k}`;
    for (let c = 0; c < channels; c++) {
      html += `<br>channel ${c}: ${
        t.channels[c].map((p) => `${num(p.x)}*${num(p.w)}`).join(" + ")
      } = ${t.sums[c]}`;
    }
    html += `<br>${t.sums.map(num).join(" + ")} + ${num(t.bias)} (bias b${k}) = <b>${t.total}</b>` +
      `</div></div>`;
    return html;
  }

  function mount(root: WidgetRoot, initial: ConvDemoData, intervalMs = 900) {
    if (root.convkitLive) return;
    root.convkitLive = true;
    let d = initial, step = 0, error = "", timer: ReturnType<typeof setInterval> | undefined;
    let chosen = { ...initial.settings };
    const id = root.id || "convdemo";
    const show = () => {
      root.innerHTML = render(d, step, {
        id,
        controls: true,
        chosen,
        error,
        playing: timer !== undefined,
      });
    };
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    root.addEventListener("change", (e) => {
      const key = e.target?.getAttribute("data-setting") as keyof ConvDemoSettings | null;
      if (!key || !(key in ranges)) return;
      chosen = { ...chosen, [key]: Number(e.target!.value) };
      const r = compute(chosen, d.seed);
      if ("error" in r) {
        error = r.error;
      } else {
        d = r;
        error = "";
        step = 0;
      }
      show();
    });
    root.addEventListener("click", (e) => {
      const action = e.target?.getAttribute("data-action");
      const total = d.size * d.size * d.settings.k;
      if (action === "next") step = (step + 1) % total;
      else if (action === "prev") step = (step - 1 + total) % total;
      else if (action === "play") {
        if (timer !== undefined) stop();
        else {
          timer = setInterval(() => {
            if (root.isConnected === false) return stop();
            step = (step + 1) % (d.size * d.size * d.settings.k);
            show();
          }, intervalMs);
        }
      } else return;
      show();
    });
    show();
  }

  return { channels, ranges, draw, outputSize, conv, terms, compute, render, mount };
}

/**
 * The source text of `convDemoCore` (JavaScript: Deno has stripped the types), as the widget embeds it.
 *
 * @example
 * ```ts
 * import { convDemoCoreSource } from "convkit/plot/conv_demo_widget.ts";
 * import assert from "node:assert/strict";
 * const core = new Function(`return (${convDemoCoreSource()})();`)();
 * assert.deepEqual(core.conv([1, 1, 1], [2, 2, 2], [1], { n: 1, f: 1, stride: 1, pad: 0, k: 1 }, 1), [7]);
 * ```
 */
export function convDemoCoreSource(): string {
  return convDemoCore.toString();
}
