/**
 * Layer-by-layer summaries of model specs: output volume, weights, biases, batch-norm parameters,
 * activations (values and float32 bytes) and multiply-adds, with totals: the numbers of the lecture's
 * case-study slides, computed.
 *
 * Activations count every tensor a layer creates, plus the input; ReLU, dropout and softmax are counted as
 * working in place, as the lecture's VGG table does.
 * Memory for a forward pass is activations x 4 bytes; a backward pass keeps a gradient of the same size
 * for each, about twice in all.
 *
 * @module
 */
import { table } from "../display.ts";
import { barChart } from "../plot/charts.ts";
import type { Figure } from "../plot/figure.ts";
import { addCounts, EMPTY, type LayerCounts, type Unit } from "./layer_counts.ts";
import {
  type ConvLayer,
  filterSize,
  type Layer,
  type ModelSpec,
  padOf,
  type Volume,
  windowOut,
} from "./spec.ts";

export type { LayerCounts };

/** One row of a summary. */
export interface SummaryRow extends LayerCounts {
  name: string;
  kind: Layer["kind"] | "input";
  output: Volume;
}

/** Totals over a summary. */
export interface SummaryTotals {
  /** Trainable parameters: weights + biases + batch-norm gamma and beta (what PyTorch counts). */
  params: number;
  /** Trainable and non-trainable (batch-norm statistics): what tfjs's `countParams()` counts. */
  allParams: number;
  weights: number;
  biases: number;
  activations: number;
  multAdds: number;
  /** float32 bytes of the activations of one image, forward only. */
  forwardBytes: number;
  /** float32 bytes of the parameters. */
  paramBytes: number;
}

/** A summary: the rows and their totals. */
export interface Summary {
  spec: ModelSpec;
  rows: SummaryRow[];
  totals: SummaryTotals;
}

/**
 * What one conv layer holds and computes, on an input volume `[H, W, D]` (the lecture's conv layer summary:
 * `(F * F * D / groups) * K` weights and K biases; output `(N - F + 2P) / S + 1`, rounded down, by
 * `windowOut`). The library's own arithmetic: exercise ex7 (`convLayerCounts` in `counts.ts`) computes the
 * same, and no summary runs a student's code.
 *
 * @throws {RangeError} when the groups do not divide the depth and the filters, or the window does not fit
 */
export function convUnit(
  where: string,
  input: Volume,
  k: number,
  fh: number,
  fw: number,
  stride: number,
  pad: number | "same",
  opts: { bias?: boolean; bn?: boolean; groups?: number } = {},
): Unit {
  const [h, w, d] = input;
  const groups = opts.groups ?? 1;
  for (const [name, v] of [["filters", k], ["input depth", d], ["groups", groups]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${where}: ${name} must be a whole number >= 1, got ${v}`);
    }
  }
  if (d % groups !== 0 || k % groups !== 0) {
    throw new RangeError(
      `${where}: ${groups} groups must divide the input depth ${d} and the ${k} filters`,
    );
  }
  const out: Volume = [
    windowOut(h, fh, stride, pad, false, `${where} (height)`),
    windowOut(w, fw, stride, pad, false, `${where} (width)`),
    k,
  ];
  const weights = fh * fw * (d / groups) * k;
  const bn = opts.bn ?? false;
  const positions = out[0] * out[1];
  return {
    out,
    weights,
    biases: (opts.bias ?? !bn) ? k : 0,
    bnParams: bn ? 2 * k : 0,
    bnStats: bn ? 2 * k : 0,
    activations: positions * k,
    multAdds: positions * weights,
  };
}

function layerUnit(l: Layer, input: Volume): Unit {
  const [h, w, d] = input;
  switch (l.kind) {
    case "conv": {
      const [fh, fw] = filterSize(l as ConvLayer);
      const pad = l.pad === "same" ? "same" : padOf(l, fh);
      return convUnit(l.name, input, l.filters, fh, fw, l.stride ?? 1, pad, {
        bias: l.bias,
        bn: l.bn,
        groups: l.groups,
      });
    }
    case "pool": {
      const out: Volume = [
        windowOut(h, l.size, l.stride, l.pad ?? 0, l.ceil, `${l.name} (height)`),
        windowOut(w, l.size, l.stride, l.pad ?? 0, l.ceil, `${l.name} (width)`),
        d,
      ];
      return { out, ...EMPTY, activations: out[0] * out[1] * d };
    }
    case "globalAvgPool":
      return { out: [1, 1, d], ...EMPTY, activations: d };
    case "fc": {
      if (!Number.isInteger(l.units) || l.units < 1) {
        throw new RangeError(`${l.name}: units must be a whole number >= 1, got ${l.units}`);
      }
      const inputs = h * w * d;
      return {
        out: [1, 1, l.units],
        ...EMPTY,
        weights: inputs * l.units,
        biases: l.bias === false ? 0 : l.units,
        activations: l.units,
        multAdds: inputs * l.units,
      };
    }
    case "dropout":
    case "lrn":
    case "softmax":
    case "relu":
      // ReLU, dropout and softmax are counted as in place (as in the lecture's tables); LRN makes a new tensor
      return { out: input, ...EMPTY, activations: l.kind === "lrn" ? h * w * d : 0 };
    case "inception": {
      const bn = l.bn ?? false, s5 = l.size5 ?? 5;
      const o = { bn };
      const b1 = convUnit(`${l.name}/1x1`, input, l.c1, 1, 1, 1, 0, o);
      const r3 = convUnit(`${l.name}/3x3_reduce`, input, l.c3r, 1, 1, 1, 0, o);
      const b3 = convUnit(`${l.name}/3x3`, r3.out, l.c3, 3, 3, 1, 1, o);
      const r5 = convUnit(`${l.name}/5x5_reduce`, input, l.c5r, 1, 1, 1, 0, o);
      const b5 = convUnit(`${l.name}/5x5`, r5.out, l.c5, s5, s5, 1, (s5 - 1) / 2, o);
      const pp = convUnit(`${l.name}/pool_proj`, input, l.pool, 1, 1, 1, 0, o);
      const pooled = { ...EMPTY, activations: h * w * d }; // the 3x3 max pool before pool_proj
      const depth = l.c1 + l.c3 + l.c5 + l.pool;
      const inner = [b1, r3, b3, r5, b5, pp].reduce(
        (a, u) => addCounts(a, u),
        pooled as LayerCounts,
      );
      return { out: [h, w, depth], ...addCounts(inner, { ...EMPTY, activations: h * w * depth }) };
    }
    case "residual": {
      const o = { bn: true };
      const units: Unit[] = [];
      let out: Volume;
      if (l.block === "basic") {
        units.push(convUnit(`${l.name}/conv1`, input, l.filters, 3, 3, l.stride, 1, o));
        units.push(convUnit(`${l.name}/conv2`, units[0].out, l.filters, 3, 3, 1, 1, o));
      } else {
        units.push(convUnit(`${l.name}/conv1`, input, l.filters, 1, 1, 1, 0, o));
        units.push(
          convUnit(`${l.name}/conv2`, units[0].out, l.filters, 3, 3, l.stride, 1, o),
        );
        units.push(convUnit(`${l.name}/conv3`, units[1].out, 4 * l.filters, 1, 1, 1, 0, o));
      }
      out = units[units.length - 1].out;
      if (l.stride !== 1 || d !== out[2]) {
        units.push(convUnit(`${l.name}/shortcut`, input, out[2], 1, 1, l.stride, 0, o));
      }
      const inner = units.reduce((a, u) => addCounts(a, u), { ...EMPTY } as LayerCounts);
      out = [out[0], out[1], out[2]];
      return { out, ...addCounts(inner, { ...EMPTY, activations: out[0] * out[1] * out[2] }) }; // + the sum
    }
  }
  const kinds = "conv, pool, globalAvgPool, fc, dropout, lrn, softmax, relu, inception, residual";
  throw new RangeError(
    `summarize: layer ${(l as { name?: string }).name ?? "?"} has the unknown kind ${
      JSON.stringify((l as { kind?: unknown }).kind)
    }; the kinds are ${kinds}`,
  );
}

/**
 * Summarizes a spec, layer by layer, with totals.
 *
 * @example
 * ```ts
 * import { summarize } from "convkit/models/summary.ts";
 * import assert from "node:assert/strict";
 * const s = summarize({
 *   name: "tiny",
 *   input: [32, 32, 3],
 *   layers: [{ kind: "conv", name: "conv", filters: 6, size: 5 }, { kind: "fc", name: "fc", units: 10 }],
 * });
 * assert.deepEqual(s.rows[1].output, [28, 28, 6]);
 * assert.equal(s.rows[1].weights + s.rows[1].biases, 5 * 5 * 3 * 6 + 6);
 * assert.equal(s.totals.params, 456 + 28 * 28 * 6 * 10 + 10);
 * ```
 */
export function summarize(spec: ModelSpec): Summary {
  const [h, w, c] = spec.input;
  if (!spec.input.every((v) => Number.isInteger(v) && v >= 1) || spec.input.length !== 3) {
    throw new RangeError(
      `summarize: ${spec.name}'s input must be [H, W, C] of whole numbers >= 1, got [${spec.input}]`,
    );
  }
  if (!spec.layers.length) throw new RangeError(`summarize: ${spec.name} has no layers`);
  const rows: SummaryRow[] = [{
    name: "input",
    kind: "input",
    output: [h, w, c],
    ...EMPTY,
    activations: h * w * c,
  }];
  let vol: Volume = [h, w, c];
  for (const l of spec.layers) {
    const u = layerUnit(l, vol);
    const { out, ...counts } = u;
    rows.push({ name: l.name, kind: l.kind, output: out, ...counts });
    vol = u.out;
  }
  const sum = (f: (r: SummaryRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const weights = sum((r) => r.weights), biases = sum((r) => r.biases), bn = sum((r) => r.bnParams);
  const params = weights + biases + bn;
  const activations = sum((r) => r.activations);
  return {
    spec,
    rows,
    totals: {
      params,
      allParams: params + sum((r) => r.bnStats),
      weights,
      biases,
      activations,
      multAdds: sum((r) => r.multAdds),
      forwardBytes: 4 * activations,
      paramBytes: 4 * params,
    },
  };
}

/** `1234567` as `1.2M`, `93.4 MB` style figures for prose. */
export function human(n: number, unit = ""): string {
  const [v, s] = n >= 1e9
    ? [n / 1e9, "G"]
    : n >= 1e6
    ? [n / 1e6, "M"]
    : n >= 1e3
    ? [n / 1e3, "K"]
    : [n, ""];
  return `${v.toFixed(v >= 100 || s === "" ? 0 : 1)}${s}${unit}`;
}

/** The summary as a table (HTML, markdown and text), one row per layer and a total row. */
export function summaryTable(s: Summary) {
  const rows = s.rows.map((r) => ({
    layer: r.name,
    output: r.output.join("x"),
    weights: r.weights,
    biases: r.biases + r.bnParams,
    activations: r.activations,
    "memory (KB)": Math.round((4 * r.activations) / 1024),
    "mult-adds": human(r.multAdds),
  }));
  rows.push({
    layer: "total",
    output: "",
    weights: s.totals.weights,
    biases: s.totals.biases + s.totals.params - s.totals.weights - s.totals.biases,
    activations: s.totals.activations,
    "memory (KB)": Math.round(s.totals.forwardBytes / 1024),
    "mult-adds": human(s.totals.multAdds),
  });
  return table(rows);
}

/** Bar charts of activation memory and of parameters per layer (the lecture's VGG slide). */
export async function summaryCharts(s: Summary): Promise<{ memory: Figure; params: Figure }> {
  const rows = s.rows.filter((r) =>
    r.kind !== "dropout" && r.kind !== "relu" && r.kind !== "softmax"
  );
  const memory = await barChart(
    rows.map((r) => ({
      layer: r.name,
      "activation memory (KB)": Math.round((4 * r.activations) / 1024),
    })),
    "layer",
    "activation memory (KB)",
    { title: `${s.spec.name}: memory per layer (float32, one image, forward)` },
  );
  const params = await barChart(
    rows.map((r) => ({ layer: r.name, parameters: r.weights + r.biases + r.bnParams })),
    "layer",
    "parameters",
    { title: `${s.spec.name}: parameters per layer` },
  );
  return { memory, params };
}

/**
 * Depth as papers count it: layers with weights along the longest path (a conv or FC layer 1, an Inception
 * module 2, a basic residual block 2, a bottleneck block 3).
 *
 * @example
 * ```ts
 * import { depth } from "convkit/models/summary.ts";
 * import { resnet, vgg16 } from "convkit/models/zoo.ts";
 * import assert from "node:assert/strict";
 * assert.equal(depth(vgg16()), 16);
 * assert.equal(depth(resnet(152)), 152);
 * ```
 */
export function depth(spec: ModelSpec): number {
  let n = 0;
  for (const l of spec.layers) {
    if (l.kind === "conv" || l.kind === "fc") n += 1;
    else if (l.kind === "inception") n += 2;
    else if (l.kind === "residual") n += l.block === "basic" ? 2 : 3;
  }
  return n;
}
