/**
 * Feedback that teaches: when a student's tensor differs from the reference, `diagnose` says where it
 * differs and what kind of mistake it looks like (a wrong shape, a NaN, a flipped sign, a factor of N, a
 * one-step shift, swapped axes, a wrong border), and `formatDiagnosis` prints that on one line.
 *
 * @module
 */
import { relError, worstElements } from "../lib/compare.ts";
import { formatShape, indexOf, offsetOf, sizeOf } from "../lib/tensor.ts";

/** Numbers and a shape, row-major: a kit tensor, or typed data with a shape. */
export interface Numeric {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** What `diagnose` found. */
export interface Diagnosis {
  /** "ok" | "shape" | "nan" | "zeros" | "sign" | "scale" | "offset" | "shift" | "transpose" | "border" | "partial" | "wrong" */
  kind: string;
  /** One or two sentences for a student, e.g. "sign flipped: your values are the negatives of the right ones". */
  message: string;
  /** Relative error as lib/compare.ts relError computes it (Infinity for a wrong shape, a NaN or an Infinity). */
  relError: number;
  /** Up to 3 worst elements: index in the tensor's own axes (e.g. [n, h, w, c] for rank 4), mine, expected. */
  worst: { index: number[]; mine: number; expected: number }[];
}

/** Options of `diagnose`. */
export interface DiagnoseOptions {
  /** Relative error that counts as right: 1e-8 (float64) unless given; pass 1e-4 for float32 references. */
  tol?: number;
  /** What the tensor is, e.g. "dx"; used in the messages. */
  name?: string;
  /**
   * One letter per axis: N batch, H height, W width, C channels, K filters, I rows, J columns.
   * Defaults: "NHWC" for rank 4, "HWC" for rank 3, "IJ" for rank 2; pass "HWCK" for filters [F, F, C, K].
   */
  layout?: string;
}

type Shape = readonly number[];
type Data = ArrayLike<number>;
const AXES: Record<string, string> = { N: "batch", H: "height", W: "width", C: "channels" };
Object.assign(AXES, { K: "filters", I: "rows", J: "columns" });
const axisName = (layout: string, i: number) => AXES[layout[i]] ?? `axis ${i}`;
const letter = (layout: string, i: number) => layout[i]?.toLowerCase() ?? `axis ${i}`;
const num = (x: number, digits = 3) =>
  Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : String(x);
/** "got 0.5000001, expected 0.5": as many digits as it takes to tell the two apart. */
function gotExpected(x: number, y: number): string {
  let k = 3;
  while (k < 17 && x !== y && num(x, k) === num(y, k)) k++;
  return `got ${num(x, k)}, expected ${num(y, k)}`;
}
const at = (index: readonly number[]) => `[${index.join(", ")}]`;
const sci = (x: number) => x.toExponential(1);

/** What each kind tells the student, after the part that names what and where. */
const HINT = {
  nan: "look for 0/0, log(0), exp() overflow, or a read past the end of an array",
  close: "look for float32 arithmetic (a Float32Array) or an epsilon unlike the reference's",
  zeros: "is all zeros where the reference is not, as if never written: check that you fill " +
    "the array you return, and the += of the accumulation",
  sign: "sign flipped: your values are the negatives of the right ones. Check the sign of the " +
    "gradient, or a subtraction written the wrong way round.",
  offset: "Check the bias (added twice, or left out) or a constant term.",
  shift: "check the window start / padding offset",
  transpose: "check the order of the indices in your loops or reshape",
  matrix: "your matrix is the transpose of the right one: check the order of the operands",
  wrong: "no simple pattern fits (sign, factor, offset, shift, transpose, border): " +
    "work one element out by hand",
  outSize: "check the output-size arithmetic (H - F + 2P) / S + 1",
  depth: "the output depth is the number of filters K",
  nchw: "that is NCHW order; the kit keeps activations NHWC [N, H, W, C]",
  twice: "Something may be added twice (an accumulation run twice, or both halves of a gradient).",
  half: "A factor of 2 may be missing (the 2 in d(x^2)/dx), or half the contributions dropped.",
  factor: "Check for a constant factor: a scale like 1/sqrt(d), a learning rate, a normalisation.",
};

/** `out[idx] = d[from(idx)]` for every index `idx` of `outShape`; `from` edits the index in place. */
function gather(
  d: Data,
  shape: Shape,
  outShape: Shape,
  from: (idx: number[]) => void,
): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  for (let off = 0; off < out.length; off++) {
    const idx = indexOf(outShape, off);
    from(idx);
    out[off] = d[offsetOf(shape, idx)];
  }
  return out;
}

/** Per-element relative error, with the floor of lib/compare.ts relError (NaN counts as Infinity). */
function elementErrors(m: Data, e: Data): Float64Array {
  let scale = 0;
  for (let i = 0; i < m.length; i++) scale = Math.max(scale, Math.abs(m[i]), Math.abs(e[i]));
  const floor = Math.max(1e-3 * scale, 1e-300), out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) {
    const x = m[i], y = e[i];
    const err = x === y ? 0 : Math.abs(x - y) / Math.max(Math.abs(x) + Math.abs(y), floor);
    out[i] = Number.isNaN(err) ? Infinity : err;
  }
  return out;
}

function shapeMessage(m: Shape, e: Shape, layout: string, what: string): string {
  const parts = [`${what} has shape ${formatShape(m)}, expected ${formatShape(e)}`];
  const nchw = layout === "NHWC" && m.length === 4 && [0, 3, 1, 2].every((j, i) => m[i] === e[j]);
  if (nchw) parts.push(HINT.nchw);
  else if (m.length !== e.length) parts.push(`rank ${m.length}, expected rank ${e.length}`);
  else {
    const diff = e.flatMap((d, i) => d === m[i] ? [] : [i]);
    parts.push(diff.map((i) => `${axisName(layout, i)} ${m[i]}, expected ${e[i]}`).join(" and "));
    const differs = (ch: string) => layout === "NHWC" && diff.some((i) => layout[i] === ch);
    if (differs("H") || differs("W")) parts.push(HINT.outSize);
    else if (differs("C")) parts.push(HINT.depth);
  }
  if (!nchw && sizeOf(m) === sizeOf(e)) {
    parts.push(`the same number of elements (${sizeOf(e)}) in another shape: a reshape?`);
  }
  return parts.join(": ");
}

function scaleMessage(c: number, batch: number): string {
  const is = (t: number) => Math.abs(c - t) <= 1e-3 * Math.abs(t);
  const hints: string[] = [];
  if (batch > 1 && is(batch)) {
    hints.push(`${batch} is the batch size N: a division by N (the batch mean) may be missing.`);
  }
  if (batch > 1 && is(1 / batch)) {
    hints.push(`That is 1/N for the batch size N = ${batch}: you may divide by N once too often.`);
  }
  if (is(2)) hints.push(HINT.twice);
  if (is(0.5)) hints.push(HINT.half);
  const fixed = Math.abs(c) >= 0.01 && Math.abs(c) < 1000 ? c.toFixed(2) : c.toExponential(2);
  return `every value is ${fixed}x the right one. ${hints.length ? hints.join(" ") : HINT.factor}`;
}

/** "wrong only on the last row (h = 4): ..." when every wrong element lies on a spatial edge. */
function borderMessage(shape: Shape, layout: string, bad: number[][], sp: number[]) {
  const len = [shape[sp[0]], shape[sp[1]]];
  if (len[0] < 2 || len[1] < 2) return undefined;
  type Edge = { axis: number; coord: number };
  const edges: Edge[] = [0, 1].flatMap((k) =>
    [0, len[k] - 1].map((coord) => ({ axis: sp[k], coord }))
  );
  const on = (e: Edge, idx: number[]) => idx[e.axis] === e.coord;
  if (!bad.every((idx) => edges.some((e) => on(e, idx)))) return undefined;
  // Keep the fewest edges that cover the wrong elements: a corner alone does not make a column wrong.
  let active = edges.filter((e) => bad.some((idx) => on(e, idx)));
  const count = (e: Edge) => bad.filter((idx) => on(e, idx)).length;
  for (const e of [...active].sort((p, q) => count(p) - count(q))) {
    const others = active.filter((o) => o !== e);
    if (bad.every((idx) => !on(e, idx) || others.some((o) => on(o, idx)))) active = others;
  }
  // a wrong edge is wrong through most of it: a few scattered errors that happen to lie on an edge are not
  const edgeSize = (e: Edge) => shape.reduce((a, v, i) => (i === e.axis ? a : a * v), 1);
  if (active.some((e) => count(e) < 0.5 * edgeSize(e))) return undefined;
  const rows = active.filter((e) => e.axis === sp[0]).length, cols = active.length - rows;
  if ((len[0] - rows) * (len[1] - cols) === 0) return undefined;
  const phrases = ["first", "last"].flatMap((pos) => {
    const here = active.filter((e) => (e.coord ? "last" : "first") === pos);
    const lines = here.map((e) => e.axis === sp[0] ? "row" : "column");
    return lines.length === 0 ? [] : [`${pos} ${lines.join(" and ")}`];
  });
  const coords = active.map((e) => `${letter(layout, e.axis)} = ${e.coord}`).join(", ");
  const where = phrases.length === 2 ? "on both sides" : `/ the ${phrases[0].split(" ")[0]} window`;
  return `wrong only on the ${phrases.join(" and the ")} (${coords}): check the padding ${where}`;
}

/**
 * Compares a student's tensor with the reference and says what kind of mistake the difference looks like.
 * The checks, in order: shape, NaN / Infinity, all zeros, sign flipped, a constant factor, a constant
 * offset (or one per channel), shifted by one along a spatial axis, spatial axes transposed, wrong only on
 * the border, partly right, and otherwise wrong. Each check passes when the relative error of its
 * transformed comparison is below `max(tol, 1e-6)`.
 *
 * @param mine the student's tensor, e.g. `[N, H', W', K]` from a conv forward
 * @param expected the reference, same shape
 * @param opts `tol` (default 1e-8), `name` for the messages, `layout` (default "NHWC" for rank 4)
 * @returns the kind, a message for the student, the relative error and up to 3 worst elements
 *
 * @example
 * ```ts
 * import { diagnose } from "grading/diagnose.ts";
 * import assert from "node:assert/strict";
 * const expected = { data: [0.5, -1.25, 2, 0.75], shape: [2, 2] };
 * const d = diagnose({ data: [-0.5, 1.25, -2, -0.75], shape: [2, 2] }, expected);
 * assert.equal(d.kind, "sign");
 * assert.deepEqual(d.worst[0].index.length, 2);
 * assert.equal(diagnose({ data: [0.5, -1.25, 2, 0.75], shape: [2, 2] }, expected).kind, "ok");
 * ```
 */
export function diagnose(mine: Numeric, expected: Numeric, opts: DiagnoseOptions = {}): Diagnosis {
  const tol = opts.tol ?? 1e-8, thr = Math.max(tol, 1e-6), what = opts.name ?? "your output";
  const shape = expected.shape, rank = shape.length;
  const layout = (opts.layout ?? ["", "", "IJ", "HWC", "NHWC"][rank] ?? "").toUpperCase();
  if (layout !== "" && layout.length !== rank) {
    throw new RangeError(`diagnose: layout "${layout}" does not fit a rank-${rank} tensor`);
  }
  const same = mine.shape.length === rank && shape.every((d, i) => d === mine.shape[i]);
  if (!same || mine.data.length !== expected.data.length) {
    const message = shapeMessage(mine.shape, shape, layout, what);
    return { kind: "shape", message, relError: Infinity, worst: [] };
  }
  const m = mine.data, e = expected.data, n = m.length, all = [...Array(n).keys()];
  const element = (i: number) => ({ index: indexOf(shape, i), mine: m[i], expected: e[i] });
  const nonFinite = all.filter((i) => !Number.isFinite(m[i]) && Number.isFinite(e[i]));
  if (nonFinite.length > 0) {
    const worst = nonFinite.slice(0, 3).map(element);
    const k = nonFinite.length, which = k === 1 ? "the only one" : `the first of ${k}`;
    const message = `${what} has ${worst[0].mine} at ${at(worst[0].index)} (${which}): ${HINT.nan}`;
    return { kind: "nan", message, relError: Infinity, worst };
  }
  const rel = relError(mine, expected);
  const worst = worstElements(mine, expected, 3).filter((w) => w.relError > 0)
    .map((w) => ({ index: w.index, mine: w.a, expected: w.b }));
  const result = (kind: string, message: string) => ({ kind, message, relError: rel, worst });
  if (rel <= tol) return result("ok", `matches the reference (relative error ${sci(rel)})`);
  if (rel <= thr) {
    return result("wrong", `close, but relative error ${sci(rel)} is above ${tol}: ${HINT.close}`);
  }
  if (all.every((i) => m[i] === 0)) {
    return result("zeros", `${what} ${HINT.zeros}`);
  }

  // Patterns: mine is close to a transform of expected.
  const close = (a: Data, b: Data, s = shape) =>
    relError({ data: a, shape: s }, { data: b, shape: s }) < thr;
  const map = (f: (x: number, i: number) => number) => Float64Array.from(e, f);
  if (close(m, map((x) => -x))) {
    return result("sign", HINT.sign);
  }
  const ee = all.reduce((s, i) => s + e[i] * e[i], 0);
  const c = all.reduce((s, i) => s + m[i] * e[i], 0) / ee;
  if (ee > 0 && close(m, map((x) => c * x))) {
    return result("scale", scaleMessage(c, "NI".includes(layout[0] ?? "-") ? shape[0] : 0));
  }
  // An offset per channel (a bias) when there is a channel axis with a few values per channel.
  const last = rank - 1, ch = "CK".includes(layout[last] ?? "-") && n / shape[last] >= 4;
  const k = ch ? shape[last] : 1, d = new Float64Array(k);
  for (let i = 0; i < n; i++) d[i % k] += (m[i] - e[i]) / (n / k);
  if (close(m, map((x, i) => x + d[i % k]))) {
    if (Math.max(...d) - Math.min(...d) <= thr * Math.max(...d.map(Math.abs))) {
      const by = `yours = right ${d[0] < 0 ? "-" : "+"} ${num(Math.abs(d[0]))}`;
      return result("offset", `every value is off by the same constant: ${by}. ${HINT.offset}`);
    }
    const l = letter(layout, last), shown = [...d.slice(0, 4)].map((v) => num(v)).join(", ");
    const per = `off by a constant per ${layout[last] === "K" ? "filter" : "channel"} (${l})` +
      `: yours = right + d[${l}]`;
    const fix = `check the bias b[${l}]: added twice, left out, or indexed by the wrong ${l}`;
    return result("offset", `${per}, d = [${shown}${k > 4 ? ", …" : ""}]; ${fix}`);
  }
  const sp = [...layout].flatMap((ch, i) => "HWIJ".includes(ch) ? [i] : []);
  for (const ax of sp.filter((ax) => shape[ax] >= 3)) {
    // Compare the overlap: positions `start .. start + len - 1` of mine with those `step` further on.
    const s = shape.map((v, i) => i === ax ? v - 1 : v);
    const part = (d: Data, start: number) => gather(d, shape, s, (idx) => idx[ax] += start);
    for (const step of [1, -1]) {
      const start = Math.max(0, -step), mineP = part(m, start);
      if (close(mineP, part(e, start + step), s) && !close(mineP, part(e, start), s)) {
        const l = letter(layout, ax), where = `along the ${axisName(layout, ax)} (${l})`;
        const detail = `your value at ${l} is the right value at ${l}${step > 0 ? "+" : "-"}1`;
        return result("shift", `shifted by one position ${where}: ${detail} — ${HINT.shift}`);
      }
    }
  }
  if (sp.length >= 2 && shape[sp[0]] >= 3 && shape[sp[1]] >= 3) {
    // shifted along both spatial axes at once: the window's start is off in both directions
    const [a, b] = sp;
    const s = shape.map((v, i) => i === a || i === b ? v - 1 : v);
    const part = (d: Data, da: number, db: number) =>
      gather(d, shape, s, (idx) => {
        idx[a] += da;
        idx[b] += db;
      });
    for (const [sa, sb] of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) {
      const ma = Math.max(0, -sa), mb = Math.max(0, -sb), mineP = part(m, ma, mb);
      if (close(mineP, part(e, ma + sa, mb + sb), s) && !close(mineP, part(e, ma, mb), s)) {
        const [la, lb] = [letter(layout, a), letter(layout, b)];
        const sign = (x: number) => x > 0 ? "+" : "-";
        return result(
          "shift",
          `shifted by one position along both the ${axisName(layout, a)} and the ${
            axisName(layout, b)
          }: your value at [${la}, ${lb}] is the right value at [${la}${sign(sa)}1, ${lb}${
            sign(sb)
          }1] — ${HINT.shift}`,
        );
      }
    }
  }
  const [a, b] = sp;
  if (
    sp.length >= 2 && shape[a] === shape[b] &&
    close(m, gather(e, shape, shape, (i) => [i[a], i[b]] = [i[b], i[a]]))
  ) {
    if (layout === "IJ") return result("transpose", HINT.matrix);
    const [la, lb] = [letter(layout, a), letter(layout, b)];
    const swapped = `${axisName(layout, a)} and ${axisName(layout, b)} are swapped`;
    const detail = `your value at [${la}, ${lb}] is the right value at [${lb}, ${la}]`;
    return result("transpose", `${swapped}: ${detail} — ${HINT.transpose}`);
  }

  // Where the wrong elements are.
  const errs = elementErrors(m, e), bad = all.filter((i) => errs[i] > tol);
  const badIdx = bad.map((i) => indexOf(shape, i));
  const border = sp.length >= 2 ? borderMessage(shape, layout, badIdx, sp) : undefined;
  if (border !== undefined) return result("border", border);
  if (bad.length > 0 && bad.length < n) {
    const f = bad[0], right = n - bad.length, notes: string[] = [];
    if (bad.every((i) => m[i] === 0)) notes.push("the wrong ones are all 0, as if never written");
    for (let ax = 0; ax < rank && bad.length > 1; ax++) {
      if (shape[ax] > 1 && badIdx.every((idx) => idx[ax] === badIdx[0][ax])) {
        notes.push(`every wrong value has ${letter(layout, ax)} = ${badIdx[0][ax]}`);
      }
    }
    const share = `${Math.floor((100 * right) / n)}% of the values are right (${right} of ${n})`;
    const first = `the first wrong one is at ${at(badIdx[0])}: ${gotExpected(m[f], e[f])}`;
    return result("partial", [share, first, ...notes].join("; "));
  }
  return result("wrong", `the values do not match (relative error ${sci(rel)}); ${HINT.wrong}`);
}

/**
 * One line for a report: the name, the message, and the worst element.
 *
 * @example
 * ```ts
 * import { diagnose, formatDiagnosis } from "grading/diagnose.ts";
 * import assert from "node:assert/strict";
 * const d = diagnose({ data: [-0.53, 1], shape: [1, 1, 2, 1] }, { data: [0.53, -1], shape: [1, 1, 2, 1] });
 * assert.equal(
 *   formatDiagnosis(d, "out"),
 *   "out: sign flipped: your values are the negatives of the right ones. Check the sign of the gradient, " +
 *     "or a subtraction written the wrong way round; worst at [0, 0, 0, 0]: got -0.53, expected 0.53",
 * );
 * ```
 */
export function formatDiagnosis(d: Diagnosis, name?: string): string {
  const w = d.worst[0];
  const tail = w && d.kind !== "ok"
    ? `; worst at ${at(w.index)}: ${gotExpected(w.mine, w.expected)}`
    : "";
  const head = tail === "" ? d.message : d.message.replace(/\.$/, "");
  return `${name ? `${name}: ` : ""}${head}${tail}`.replace(/\s*\n\s*/g, " ");
}
