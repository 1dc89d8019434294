import assert from "node:assert/strict";
import { relError } from "../../lib/compare.ts";
import { randn, Rng } from "../../lib/random.ts";
import { type Tensor, zeros } from "../../lib/tensor.ts";
import { diagnose, formatDiagnosis } from "../../grading/diagnose.ts";

// Each case is a realistic mistake: a reference computed by a small hand-written layer, and the output
// of the same layer with one bug in it.

/**
 * Naive conv, x [N, H, W, C], w [F, F, C, K], b [K], stride 1, zero padding `pad`; `rows` / `cols` let a
 * test stop the output loops early, as a buggy loop bound would (the skipped outputs stay 0).
 */
function conv(
  x: Tensor,
  w: Tensor,
  b: number[],
  pad: number,
  bug: { rows?: number; cols?: number } = {},
) {
  const [n, h, wd, c] = x.shape, [f, , , k] = w.shape;
  const oh = h - f + 2 * pad + 1, ow = wd - f + 2 * pad + 1;
  const out = zeros([n, oh, ow, k]);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < oh - (bug.rows ?? 0); y++) {
      for (let z = 0; z < ow - (bug.cols ?? 0); z++) {
        for (let o = 0; o < k; o++) {
          let s = b[o];
          for (let p = 0; p < f; p++) {
            for (let q = 0; q < f; q++) {
              const yy = y + p - pad, zz = z + q - pad;
              if (yy < 0 || yy >= h || zz < 0 || zz >= wd) continue;
              for (let ch = 0; ch < c; ch++) {
                s += x.data[((i * h + yy) * wd + zz) * c + ch] *
                  w.data[((p * f + q) * c + ch) * k + o];
              }
            }
          }
          out.data[((i * oh + y) * ow + z) * k + o] = s;
        }
      }
    }
  }
  return out;
}

/** Naive 2x2 stride-2 max-pool backward of x [N, H, W, C]: each dout goes to its window's maximum. */
function maxPoolBackward(x: Tensor, dout: Tensor): Tensor {
  const [n, h, w, c] = x.shape, dx = zeros(x.shape);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h / 2; y++) {
      for (let z = 0; z < w / 2; z++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, arg = 0;
          for (const [p, q] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
            const at = ((i * h + 2 * y + p) * w + 2 * z + q) * c + ch;
            if (x.data[at] > best) [best, arg] = [x.data[at], at];
          }
          dx.data[arg] += dout.data[((i * (h / 2) + y) * (w / 2) + z) * c + ch];
        }
      }
    }
  }
  return dx;
}

const rng = new Rng(231);
const x = randn([2, 6, 6, 3], rng),
  w3 = randn([3, 3, 3, 4], rng, 0.5),
  bias = [0.1, -0.2, 0.3, 0.05];
/** The right conv output, [2, 6, 6, 4] (3x3 filters, pad 1). */
const out = conv(x, w3, bias, 1);
const idx = (h: number, w: number, c = 0, n = 0) => ((n * 6 + h) * 6 + w) * 4 + c;
const mapped = (t: Tensor, f: (v: number, i: number) => number): Tensor => ({
  data: t.data.map(f),
  shape: t.shape,
});

Deno.test("diagnose() says ok when mine matches within float noise, with compare.ts's relError", () => {
  const noisy = mapped(out, (v, i) => v * (1 + 1e-13 * ((i % 7) - 3)));
  const d = diagnose(noisy, out);
  assert.equal(d.kind, "ok");
  assert.equal(d.relError, relError(noisy, out));
  assert.ok(d.relError > 0 && d.relError < 1e-12);
});

Deno.test("diagnose() says ok for a float32 result under tol 1e-4, and close-but-wrong under 1e-8", () => {
  const f32 = { data: Float32Array.from(out.data), shape: out.shape };
  assert.equal(diagnose(f32, out, { tol: 1e-4 }).kind, "ok");
  const strict = diagnose(f32, out);
  assert.equal(strict.kind, "wrong");
  assert.match(strict.message, /close, but relative error .* Float32Array/);
});

Deno.test("diagnose() names height and width when a conv output is 2x5x5x4 instead of 2x4x4x4", () => {
  const expected = conv(x, w3, bias, 0); // 3x3, pad 0: 4x4
  const mine = conv(x, randn([2, 2, 3, 4], rng), bias, 0); // a 2x2 window: 5x5
  const d = diagnose(mine, expected, { name: "out" });
  assert.equal(d.kind, "shape");
  assert.equal(d.relError, Infinity);
  assert.match(d.message, /out has shape 2x5x5x4, expected 2x4x4x4/);
  assert.match(d.message, /height 5, expected 4 and width 5, expected 4/);
  assert.match(d.message, /\(H - F \+ 2P\) \/ S \+ 1/);
});

Deno.test("diagnose() says NCHW when mine has the same elements as [N, C, H, W]", () => {
  const expected = randn([2, 4, 4, 3], rng);
  const d = diagnose(zeros([2, 3, 4, 4]), expected);
  assert.equal(d.kind, "shape");
  assert.equal(
    d.message,
    "your output has shape 2x3x4x4, expected 2x4x4x3: that is NCHW order; " +
      "the kit keeps activations NHWC [N, H, W, C]",
  );
  const flat = diagnose(zeros([2, 48]), expected);
  assert.match(flat.message, /rank 2, expected rank 4: the same number of elements \(96\)/);
});

Deno.test("diagnose() says where the first NaN is when mine has NaN at [1, 2, 3, 0]", () => {
  const mine = mapped(out, (v, i) => i === idx(2, 3, 0, 1) ? NaN : v);
  const d = diagnose(mine, out, { name: "out" });
  assert.equal(d.kind, "nan");
  assert.match(d.message, /out has NaN at \[1, 2, 3, 0\] \(the only one\)/);
  assert.deepEqual(d.worst[0].index, [1, 2, 3, 0]);
  assert.equal(diagnose(mapped(out, (v, i) => i === 5 ? -Infinity : v), out).kind, "nan");
  // A NaN in the reference too is not the student's NaN: it is reported as a wrong element, not thrown on.
  const both = mapped(out, (v, i) => i === 5 ? NaN : v);
  assert.equal(diagnose(both, both).kind, "ok"); // NaN where the reference has NaN agrees (PyTorch's max of NaN)
});

Deno.test("diagnose() says all zeros when mine is the untouched zero-initialised output", () => {
  const d = diagnose(zeros(out.shape), out, { name: "out" });
  assert.equal(d.kind, "zeros");
  assert.match(d.message, /out is all zeros where the reference is not, as if never written/);
});

Deno.test("diagnose() says sign flipped when mine = -expected", () => {
  const d = diagnose(mapped(out, (v) => -v), out);
  assert.equal(d.kind, "sign");
  assert.match(d.message, /^sign flipped: your values are the negatives of the right ones/);
});

Deno.test("diagnose() says sign flipped for a max-pool backward that sends -dout", () => {
  const xp = randn([2, 4, 4, 3], rng), dout = randn([2, 2, 2, 3], rng);
  const dx = maxPoolBackward(xp, dout);
  const wrong = maxPoolBackward(xp, mapped(dout, (v) => -v));
  assert.equal(diagnose(wrong, dx, { name: "dx" }).kind, "sign");
});

Deno.test("diagnose() says 2.00x when mine = 2 * expected", () => {
  const d = diagnose(mapped(out, (v) => 2 * v), out);
  assert.equal(d.kind, "scale");
  assert.match(d.message, /every value is 2\.00x the right one\. .*added twice/);
});

Deno.test("diagnose() hints at the batch size when mine = N * expected or expected / N", () => {
  const g = randn([4, 10], rng); // e.g. dscores of a mean loss over N = 4
  const times = diagnose(mapped(g, (v) => 4 * v), g);
  assert.equal(times.kind, "scale");
  assert.match(
    times.message,
    /4\.00x.*4 is the batch size N: a division by N \(the batch mean\) may be missing/,
  );
  const over = diagnose(mapped(g, (v) => v / 4), g);
  assert.match(over.message, /0\.25x.*1\/N for the batch size N = 4/);
});

Deno.test("diagnose() says off by a constant when mine = expected + 0.5", () => {
  const d = diagnose(mapped(out, (v) => v + 0.5), out);
  assert.equal(d.kind, "offset");
  assert.match(d.message, /off by the same constant: yours = right \+ 0\.5/);
});

Deno.test("diagnose() says off by a constant per channel for a conv that forgets the bias", () => {
  const d = diagnose(conv(x, w3, [0, 0, 0, 0], 1), out);
  assert.equal(d.kind, "offset");
  assert.match(
    d.message,
    /per channel \(c\): yours = right \+ d\[c\], d = \[-0\.1, 0\.2, -0\.3, -0\.05\]/,
  );
  assert.match(d.message, /bias b\[c\]/);
});

Deno.test("diagnose() says shifted by one along the width when mine[w] = expected[w + 1]", () => {
  const mine = mapped(out, (_, i) => {
    const w = Math.floor(i / 4) % 6;
    return w < 5 ? out.data[i + 4] : 7; // the vacated column is anything
  });
  const d = diagnose(mine, out);
  assert.equal(d.kind, "shift");
  assert.match(
    d.message,
    /shifted by one position along the width \(w\): your value at w is the right value at w\+1/,
  );
});

Deno.test("diagnose() says shifted by one along the height when mine[h] = expected[h - 1]", () => {
  const mine = mapped(out, (_, i) => Math.floor(i / 24) % 6 > 0 ? out.data[i - 24] : 0);
  const d = diagnose(mine, out);
  assert.equal(d.kind, "shift");
  assert.match(d.message, /along the height \(h\): your value at h is the right value at h-1/);
});

Deno.test("diagnose() says height and width are swapped when mine is expected with h and w transposed", () => {
  const mine = mapped(out, (_, i) => {
    const c = i % 4, w = Math.floor(i / 4) % 6, h = Math.floor(i / 24) % 6, n = Math.floor(i / 144);
    return out.data[idx(w, h, c, n)];
  });
  const d = diagnose(mine, out);
  assert.equal(d.kind, "transpose");
  assert.match(
    d.message,
    /height and width are swapped: your value at \[h, w\] is the right value at \[w, h\]/,
  );
});

Deno.test("diagnose() says transpose for a square matrix and for filters [F, F, C, K] with layout HWCK", () => {
  const m = randn([5, 5], rng);
  const t = mapped(m, (_, i) => m.data[(i % 5) * 5 + Math.floor(i / 5)]);
  assert.match(diagnose(t, m).message, /transpose of the right one/);
  const dw = mapped(w3, (_, i) => {
    const rest = i % 12, q = Math.floor(i / 12) % 3, p = Math.floor(i / 36);
    return w3.data[(q * 3 + p) * 12 + rest];
  });
  const d = diagnose(dw, w3, { layout: "HWCK" });
  assert.equal(d.kind, "transpose");
  assert.match(d.message, /height and width are swapped/);
});

Deno.test("diagnose() says wrong only on the last row for a conv that drops the last padded row", () => {
  const d = diagnose(conv(x, w3, bias, 1, { rows: 1 }), out);
  assert.equal(d.kind, "border");
  assert.match(
    d.message,
    /^wrong only on the last row \(h = 5\): check the padding \/ the last window/,
  );
  assert.equal(d.worst[0].index[1], 5);
});

Deno.test("diagnose() says wrong only on the last row and column when both loops stop one short", () => {
  const d = diagnose(conv(x, w3, bias, 1, { rows: 1, cols: 1 }), out);
  assert.equal(d.kind, "border");
  assert.match(d.message, /wrong only on the last row and column \(h = 5, w = 5\)/);
  const first = diagnose(mapped(out, (v, i) => Math.floor(i / 4) % 6 === 0 ? v + 1 : v), out);
  assert.match(
    first.message,
    /wrong only on the first column \(w = 0\): check the padding \/ the first window/,
  );
});

Deno.test("diagnose() says partial with the share right and the first wrong one when one channel is wrong", () => {
  const other = conv(x, randn([3, 3, 3, 4], rng), bias, 1);
  const mine = mapped(out, (v, i) => i % 4 === 2 ? other.data[i] : v);
  const d = diagnose(mine, out);
  assert.equal(d.kind, "partial");
  assert.match(
    d.message,
    /^75% of the values are right \(216 of 288\); the first wrong one is at \[0, 0, 0, 2\]/,
  );
  assert.match(d.message, /every wrong value has c = 2/);
});

Deno.test("diagnose() says wrong when no pattern fits", () => {
  const d = diagnose(randn(out.shape, rng), out);
  assert.equal(d.kind, "wrong");
  assert.match(d.message, /no simple pattern fits/);
  assert.equal(d.worst.length, 3);
});

Deno.test("diagnose() gives the worst elements as [n, h, w, c] with mine and expected", () => {
  const big = idx(2, 1, 3, 1), small = idx(3, 2, 1, 0);
  const mine = mapped(out, (v, i) => i === big ? v + 5 : i === small ? v + 1 : v);
  const d = diagnose(mine, out);
  assert.equal(d.kind, "partial");
  assert.deepEqual(d.worst.map((w) => w.index), [[1, 2, 1, 3], [0, 3, 2, 1]]);
  assert.deepEqual(d.worst[0], {
    index: [1, 2, 1, 3],
    mine: out.data[big] + 5,
    expected: out.data[big],
  });
});

Deno.test("formatDiagnosis() gives one line with the name, the message and the worst element", () => {
  const mine = mapped(out, (v, i) => i === idx(4, 2, 1) ? NaN : v);
  const line = formatDiagnosis(diagnose(mine, out, { name: "out" }), "out");
  assert.ok(!line.includes("\n"));
  assert.match(
    line,
    /^out: out has NaN at \[0, 4, 2, 1\].*; worst at \[0, 4, 2, 1\]: got NaN, expected -?\d/,
  );
  const ok = formatDiagnosis(diagnose(out, out));
  assert.equal(ok, "matches the reference (relative error 0.0e+0)");
});
