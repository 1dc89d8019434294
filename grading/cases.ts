/**
 * Test cases of the assignment, as programs (see program.ts) with a way to compare each output with the
 * reference solution's. This file holds the builders and the visible cases, which students have; the
 * hidden cases are in `grading/hidden/`, in the instructor's tree only.
 *
 * Visible cases draw fresh inputs at every run (a table of remembered outputs passes nothing) and are
 * compared with the library's ops (`reference.ts`: tfjs at float32, the library's arithmetic), which every
 * edition may run. Hidden cases, in the instructor's tree only, are seeded by the student's id (outputs
 * cannot be copied from one submission to the next) and compared with the reference solution in float64;
 * they carry most of each exercise's points (`HIDDEN_SHARE`).
 *
 * @module
 */
import { randn, Rng } from "../lib/random.ts";
import { encode, type Program, type Step } from "./program.ts";

/** How an output is compared with the reference. */
export type Compare =
  | { kind: "close"; tol?: number }
  | { kind: "equal" }
  | { kind: "error"; name: string };

/** One test case. */
export interface Case {
  /** Unique across all cases, e.g. "ex2.1/visible/1". */
  id: string;
  exercise: string;
  name: string;
  hidden: boolean;
  /** What kind of case it is, shown for hidden cases too: "stride 2, pad 1, non-square". */
  kind: string;
  program: Program;
  /** Output reference to its comparison. */
  compare: Record<string, Compare>;
}

/** The share of each exercise's points that its hidden cases carry (the visible ones carry the rest). */
export const HIDDEN_SHARE = 0.7;

/** A seed drawn afresh (visible cases change at every run). */
export function freshSeed(): string {
  return crypto.randomUUID();
}

function convKind(xs: number[], ws: number[], stride: number, pad: number): string {
  return [
    `stride ${stride}`,
    `pad ${pad}`,
    ...(xs[1] !== xs[2] ? ["non-square"] : []),
    ...(ws[0] === 1 ? ["1x1 filter"] : []),
    ...(xs[0] > 1 ? [`batch ${xs[0]}`] : []),
  ].join(", ");
}

/** A seeded generator for one student and exercise (FNV-1a of both). */
export function variantRng(student: string, exercise: string): Rng {
  let h = 0x811c9dc5;
  for (const ch of `${student}/${exercise}`) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return new Rng(h);
}

/** A literal argument. */
export const v = (x: unknown) => ({ value: encode(x) });
/** A reference to an earlier step's result. */
export const ref = (r: string) => ({ ref: r });
/** A seeded normal tensor as an argument. */
export const tn = (shape: number[], rng: Rng, scale = 1) => v(randn(shape, rng, scale));
/** One step. */
export const call = (
  fn: string,
  args: Step["args"],
  as: string,
  opts: { catch?: boolean } = {},
): Step => ({
  call: fn,
  args,
  as,
  ...opts,
});

const CONV = "layers/conv2d.ts";
const POOL = "layers/pool2d.ts";
const IM2COL = "layers/conv2d_im2col.ts";
const BN = "layers/batchnorm.ts";

/** Builders of cases, one kind per exercise; the visible and the hidden cases use the same ones. */
export const build = {
  outputSize(
    id: string,
    hidden: boolean,
    n: number,
    f: number,
    s: number,
    p: number,
    rounding?: "floor",
  ): Case {
    const args = [v(n), v(f), v(s), v(p), v("convOutputSize"), ...(rounding ? [v(rounding)] : [])];
    const fits = rounding === "floor" ||
      (n - f + 2 * p >= 0 && Number.isInteger((n - f + 2 * p) / s));
    return {
      id,
      exercise: "ex1",
      hidden,
      kind: !fits && rounding !== "floor"
        ? "a stride or filter that does not fit"
        : rounding
        ? "rounding down"
        : `stride ${s}, pad ${p}`,
      name: `convOutputSize(${n}, ${f}, ${s}, ${p}${rounding ? ", floor" : ""})`,
      program: {
        steps: [call("shape.ts#convOutputSize", args, "r", { catch: true })],
        outputs: ["r"],
      },
      compare: { r: fits ? { kind: "equal" } : { kind: "error", name: "ShapeError" } },
    };
  },
  convForward(
    id: string,
    hidden: boolean,
    rng: Rng,
    xs: number[],
    ws: number[],
    stride: number,
    pad: number,
  ): Case {
    return {
      id,
      exercise: "ex2.1",
      hidden,
      kind: convKind(xs, ws, stride, pad),
      name: `conv2dForward x=[${xs}] w=[${ws}] s=${stride} p=${pad}`,
      program: {
        steps: [
          call(`${CONV}#conv2dForward`, [
            tn(xs, rng),
            tn(ws, rng),
            tn([ws[3]], rng),
            v({ stride, pad }),
          ], "fwd"),
        ],
        outputs: ["fwd.out"],
      },
      compare: { "fwd.out": { kind: "close" } },
    };
  },
  convBackward(
    id: string,
    hidden: boolean,
    rng: Rng,
    xs: number[],
    ws: number[],
    stride: number,
    pad: number,
  ): Case {
    const x = randn(xs, rng), w = randn(ws, rng), b = randn([ws[3]], rng);
    const outH = Math.floor((xs[1] - ws[0] + 2 * pad) / stride) + 1,
      outW = Math.floor((xs[2] - ws[1] + 2 * pad) / stride) + 1;
    return {
      id,
      exercise: "ex2.2",
      hidden,
      kind: convKind(xs, ws, stride, pad),
      name: `conv2dBackward x=[${xs}] w=[${ws}] s=${stride} p=${pad}`,
      program: {
        steps: [
          // the cache is built by hand, so a wrong forward pass does not cost backward points
          call(`shape.ts#conv2dInfo`, [v(xs), v(ws), v({ stride, pad })], "info"),
          call(`${CONV}#conv2dBackward`, [tn([xs[0], outH, outW, ws[3]], rng), {
            object: { layer: v("conv2d"), x: v(x), w: v(w), b: v(b), info: ref("info") },
          }], "bwd"),
        ],
        outputs: ["bwd.dx", "bwd.dw", "bwd.db"],
      },
      compare: {
        "bwd.dx": { kind: "close" },
        "bwd.dw": { kind: "close" },
        "bwd.db": { kind: "close" },
      },
    };
  },
  maxPool(
    id: string,
    hidden: boolean,
    rng: Rng,
    xs: number[],
    size: number,
    stride: number,
    backward: boolean,
  ): Case {
    const steps = [call(`${POOL}#maxPool2dForward`, [tn(xs, rng), v({ size, stride })], "fwd")];
    if (backward) {
      const oh = (xs[1] - size) / stride + 1, ow = (xs[2] - size) / stride + 1;
      steps.push(
        call(
          `${POOL}#maxPool2dBackward`,
          [tn([xs[0], oh, ow, xs[3]], rng), ref("fwd.cache")],
          "bwd",
        ),
      );
    }
    return {
      id,
      exercise: backward ? "ex3.2" : "ex3.1",
      hidden,
      kind: `F=${size}, S=${stride}${size > stride ? ", overlapping windows" : ""}${
        xs[1] !== xs[2] ? ", non-square" : ""
      }`,
      name: `maxPool2d${backward ? "Backward" : "Forward"} x=[${xs}] F=${size} S=${stride}`,
      program: { steps, outputs: backward ? ["bwd.dx"] : ["fwd.out"] },
      compare: backward ? { "bwd.dx": { kind: "close" } } : { "fwd.out": { kind: "close" } },
    };
  },
  im2colConv(
    id: string,
    hidden: boolean,
    rng: Rng,
    xs: number[],
    ws: number[],
    stride: number,
    pad: number,
    backward: boolean,
  ): Case {
    const steps = [
      call(`${IM2COL}#conv2dForwardIm2col`, [
        tn(xs, rng),
        tn(ws, rng),
        tn([ws[3]], rng),
        v({ stride, pad }),
      ], "fwd"),
    ];
    const outH = (xs[1] - ws[0] + 2 * pad) / stride + 1,
      outW = (xs[2] - ws[1] + 2 * pad) / stride + 1;
    steps.push(
      call(`${IM2COL}#conv2dBackwardIm2col`, [
        tn([xs[0], outH, outW, ws[3]], rng),
        ref("fwd.cache"),
      ], "bwd"),
    );
    // ex4.1 (im2col) is seen in the forward output and dw; ex4.2 (col2im) in dx
    const outputs = backward ? ["bwd.dx"] : ["fwd.out", "bwd.dw"];
    return {
      id,
      exercise: backward ? "ex4.2" : "ex4.1",
      hidden,
      kind: convKind(xs, ws, stride, pad),
      name: `conv2d${
        backward ? "BackwardIm2col dx" : "ForwardIm2col"
      } x=[${xs}] w=[${ws}] s=${stride} p=${pad}`,
      program: { steps, outputs },
      compare: Object.fromEntries(outputs.map((o) => [o, { kind: "close" as const }])),
    };
  },
  batchnorm(
    id: string,
    hidden: boolean,
    rng: Rng,
    xs: number[],
    mode: "train" | "test",
    backward: boolean,
  ): Case {
    const c = xs[3];
    const steps = [
      call(`${BN}#batchNormState`, [v(c)], "state"),
      call(`${BN}#spatialBatchnormForward`, [tn(xs, rng, 2), tn([c], rng), tn([c], rng), {
        object: { mode: v(mode), state: ref("state"), eps: v(1e-5), momentum: v(0.1) },
      }], "fwd"),
    ];
    if (backward) {
      steps.push(call(`${BN}#spatialBatchnormBackward`, [tn(xs, rng), ref("fwd.cache")], "bwd"));
    }
    const outputs = backward
      ? ["bwd.dx", "bwd.dgamma", "bwd.dbeta"]
      : ["fwd.out", "state.runningMean", "state.runningVar"];
    return {
      id,
      exercise: backward ? "ex5.2" : "ex5.1",
      hidden,
      kind: `${mode} mode, ${xs[3]} channels`,
      name: `spatialBatchnorm${backward ? "Backward" : "Forward"} ${mode} x=[${xs}]`,
      program: { steps, outputs },
      compare: Object.fromEntries(outputs.map((o) => [o, { kind: "close" as const }])),
    };
  },
  threeLayerNet(
    id: string,
    hidden: boolean,
    rng: Rng,
    n: number,
    input: [number, number, number],
    k: number,
    f: number,
    reg: number,
  ): Case {
    const NET = "models/three_layer_convnet.ts";
    const [h, w, c] = input, hidden_ = 6, classes = 5;
    const y = Int32Array.from({ length: n }, () => rng.int(classes));
    const params = {
      W1: randn([f, f, c, k], rng, 0.3),
      b1: randn([k], rng, 0.1),
      W2: randn([k * (h / 2) * (w / 2), hidden_], rng, 0.3),
      b2: randn([hidden_], rng, 0.1),
      W3: randn([hidden_, classes], rng, 0.3),
      b3: randn([classes], rng, 0.1),
    };
    // the conv layer's gradients (W1, b1) are graded in ex2.2, so a wrong conv backward costs only ex2.2
    const outputs = ["r.scores", "r.loss", "r.grads.W2", "r.grads.b2", "r.grads.W3", "r.grads.b3"];
    return {
      id,
      exercise: "ex6",
      hidden,
      kind: `${n} images, ${f}x${f} filters${reg ? ", with regularization" : ""}`,
      name: `threeLayerConvNetLoss N=${n} input=${input.join("x")} K=${k} F=${f} reg=${reg}`,
      program: {
        steps: [
          call(
            `${NET}#threeLayerConvNetLoss`,
            [v(params), tn([n, h, w, c], rng), v(y), v(reg)],
            "r",
          ),
        ],
        outputs,
      },
      compare: Object.fromEntries(outputs.map((o) => [o, { kind: "close" as const }])),
    };
  },
  counts(
    id: string,
    hidden: boolean,
    input: [number, number, number],
    k: number,
    f: number,
    s: number,
    p: number,
    opts: { bn?: boolean; groups?: number; bias?: boolean } = {},
  ): Case {
    return {
      id,
      exercise: "ex7",
      hidden,
      kind: [
        `F=${f}, S=${s}, P=${p}`,
        ...(opts.bn ? ["batch norm"] : []),
        ...(opts.groups ? [`${opts.groups} groups`] : []),
      ].join(", "),
      name: `convLayerCounts input=${input.join("x")} K=${k} F=${f} S=${s} P=${p}${
        opts.bn ? " bn" : ""
      }${opts.groups ? ` groups=${opts.groups}` : ""}`,
      program: {
        steps: [
          call("models/counts.ts#convLayerCounts", [
            v("layer"),
            v(input),
            v(k),
            v(f),
            v(f),
            v(s),
            v(p),
            v(opts),
          ], "c"),
        ],
        outputs: ["c"],
      },
      compare: { c: { kind: "equal" } },
    };
  },
};

/**
 * The visible cases, with inputs drawn from `seed` (by default a fresh one: they change at every run).
 * Students have them; their reference is the library's (`reference.ts`).
 */
export function visibleCases(seed: string = freshSeed()): Case[] {
  const r = (ex: string) => variantRng(seed, ex);
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  let g = r("ex1");
  const pick = <T>(xs: readonly T[]) => xs[g.int(xs.length)];
  {
    const f = pick([1, 3, 5, 7]), s = 1 + g.int(3), p = g.int((f + 1) / 2), out = 2 + g.int(20);
    const n = (out - 1) * s + f - 2 * p; // >= 2, since 2p <= f - 1
    add(build.outputSize("ex1/visible/1", false, n, f, s, p)); // fits
    const s2 = pick([2, 3]), n2 = s2 * (3 + g.int(10)) + f + 1; // (n2 - f) % s2 === 1: does not fit
    add(build.outputSize("ex1/visible/2", false, n2, f, s2, 0));
    add(build.outputSize("ex1/visible/3", false, n2, f, s2, 0, "floor"));
    add(build.outputSize("ex1/visible/4", false, 1 + g.int(3), 5 + g.int(3), 1, 0)); // filter too large
    const f5 = pick([3, 5, 7]), n5 = 8 + g.int(40);
    add(build.outputSize("ex1/visible/5", false, n5, f5, 1, (f5 - 1) / 2)); // "same": n stays n
    const p6 = 1 + g.int(2), s6 = 2, n6 = 2 * (4 + g.int(20)) + f5 - 2 * p6; // fits with pad
    add(build.outputSize("ex1/visible/6", false, n6, f5, s6, p6));
  }
  g = r("ex2.1");
  add(build.convForward("ex2.1/visible/1", false, g, [2, 5, 5, 3], [3, 3, 3, 4], 1, 1));
  add(build.convForward("ex2.1/visible/2", false, g, [1, 7, 7, 2], [3, 3, 2, 2], 2, 0));
  g = r("ex2.2");
  add(build.convBackward("ex2.2/visible/1", false, g, [2, 5, 5, 3], [3, 3, 3, 4], 1, 1));
  add(build.convBackward("ex2.2/visible/2", false, g, [1, 7, 7, 2], [3, 3, 2, 2], 2, 0));
  g = r("ex3");
  add(build.maxPool("ex3.1/visible/1", false, g, [2, 4, 4, 3], 2, 2, false));
  add(build.maxPool("ex3.2/visible/1", false, g, [2, 4, 4, 3], 2, 2, true));
  g = r("ex4");
  add(build.im2colConv("ex4.1/visible/1", false, g, [2, 5, 5, 3], [3, 3, 3, 4], 1, 1, false));
  add(build.im2colConv("ex4.2/visible/1", false, g, [2, 5, 5, 3], [3, 3, 3, 4], 1, 1, true));
  g = r("ex5");
  add(build.batchnorm("ex5.1/visible/1", false, g, [2, 3, 3, 4], "train", false));
  add(build.batchnorm("ex5.2/visible/1", false, g, [2, 3, 3, 4], "train", true));
  g = r("ex6");
  add(build.threeLayerNet("ex6/visible/1", false, g, 2, [6, 6, 3], 4, 3, 0.1));
  g = r("ex7");
  {
    const size = 8 + g.int(60), d = pick([3, 16, 64]), k = pick([8, 32, 96]);
    add(build.counts("ex7/visible/1", false, [size, size, d], k, pick([1, 3, 5]), 1, g.int(3)));
    add(build.counts("ex7/visible/2", false, [size + 1, size, d], k, 3, 2, 1)); // rounds down
  }
  return cases;
}
