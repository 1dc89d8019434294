/**
 * The layers as the lecture notebooks use them. Each function has the signature of the teaching layer
 * of the same name, runs the library's op (TensorFlow.js, see `tf/layers.ts`, `tf/output_size.ts`) and
 * returns its result, so that every lecture number and figure is the library's, in the student edition
 * before any exercise is done as much as in the instructor's tree. When the exercise behind a function is
 * written (say ex2.1, `conv2dForward` in `layers/conv2d.ts`), the student's code runs beside the library
 * op on the same arguments, for the first few calls, and a line under the cell says whether they agree:
 *
 *     [ex2.1] your conv2dForward agrees with tfjs conv2d (relative error 3.2e-8; float32 reference)
 *     [ex2.1] conv2dForward is not written yet (lib/layers/conv2d.ts, TODO ex2.1): tfjs conv2d ran instead
 *
 * The library ops compute in float32: lecture values agree with the float64 teaching layers to ~1e-6.
 * The exercises are checked properly in `15_assignment.ipynb`.
 *
 * @module
 */
import { float32Error } from "./compare.ts";
import { isStudentEdition } from "./edition.ts";
import type { Conv2dCache, Conv2dGrads } from "./layers/conv2d.ts";
import type { MaxPool2dCache } from "./layers/pool2d.ts";
import type {
  ThreeLayerConvNetGrads,
  ThreeLayerConvNetParams,
} from "./models/three_layer_convnet.ts";
import type { PoolOptions, WindowOptions } from "./shape.ts";
import type { Tensor } from "./tensor.ts";
import {
  conv2dBackwardTf,
  conv2dForwardTf,
  maxPool2dBackwardTf,
  maxPool2dForwardTf,
  threeLayerConvNetLossTf,
} from "./tf/layers.ts";
import { convInfo, outputSize } from "./tf/output_size.ts";

/** Float64 against the float32 library op: below this `float32Error` the two agree. */
export const AGREE_TOL = 1e-4;
/** How many calls of each exercise run the student's code beside the library op. */
export const COMPARED_CALLS = 3;

type Module = Record<string, unknown>;

/** A student module, or why it could not be loaded (a syntax error must not stop the notebook). */
async function load(path: string): Promise<Module | Error> {
  try {
    return await import(path);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

const modules = {
  "shape.ts": await load("./shape.ts"),
  "layers/conv2d.ts": await load("./layers/conv2d.ts"),
  "layers/pool2d.ts": await load("./layers/pool2d.ts"),
  "layers/conv2d_im2col.ts": await load("./layers/conv2d_im2col.ts"),
  "models/three_layer_convnet.ts": await load("./models/three_layer_convnet.ts"),
};
type ModulePath = keyof typeof modules;

/** What happened the last time an exercise ran beside its library op. */
export interface ExerciseStatus {
  exercise: string;
  /** "missing": not written yet; "agrees"; "differs"; "throws": another error; "unloadable": its file does not load. */
  state: "missing" | "agrees" | "differs" | "throws" | "unloadable";
  message: string;
  calls: number;
}

const status = new Map<string, ExerciseStatus>();

/** The status of every exercise the lecture functions have run so far (for a table in a notebook). */
export function exerciseStatus(): ExerciseStatus[] {
  return [...status.values()];
}

function report(exercise: string, state: ExerciseStatus["state"], message: string) {
  const before = status.get(exercise);
  const calls = (before?.calls ?? 0) + 1;
  status.set(exercise, { exercise, state, message, calls });
  if (before?.state !== state) console.log(`[${exercise}] ${message}`);
}

/** True for the error a stub throws (`deno task release` writes them). */
export function isNotImplemented(e: unknown): e is Error {
  return e instanceof Error &&
    (e.name === "NotImplementedError" || /is not implemented yet/.test(e.message));
}

/** The exercise id a NotImplementedError names ("Exercise ex1 (...) is not implemented yet"). */
function stubId(e: Error): string | undefined {
  return (e as { exercise?: string }).exercise ?? e.message.match(/Exercise (\S+)/)?.[1];
}

/**
 * Runs `mine` (the student's function, looked up in `path`) beside the library's result, for the first
 * few calls, and reports whether they agree. Never throws: the notebook goes on with the library's value.
 */
function beside<T>(
  exercise: string,
  path: ModulePath,
  fn: string,
  library: string,
  run: (f: (...args: never[]) => unknown) => T,
  agree: (mine: T) => number | string,
): void {
  if ((status.get(exercise)?.calls ?? 0) >= COMPARED_CALLS) return;
  const mod = modules[path];
  if (mod instanceof Error) {
    report(
      exercise,
      "unloadable",
      `lib/${path} does not load (${mod.name}: ${
        mod.message.split("\n")[0]
      }): ${library} ran instead; fix the file and restart the kernel`,
    );
    return;
  }
  const f = mod[fn];
  if (typeof f !== "function") {
    report(exercise, "throws", `lib/${path} does not export ${fn}: ${library} ran instead`);
    return;
  }
  let mine: T;
  try {
    mine = run(f as (...args: never[]) => unknown);
  } catch (e) {
    if (isNotImplemented(e)) {
      const id = stubId(e) ?? exercise;
      report(
        exercise,
        "missing",
        id === exercise
          ? `${fn} is not written yet (lib/${path}, TODO ${exercise}): ${library} ran instead`
          : `${fn} (${exercise}) runs once ${id} is written: ${library} ran instead`,
      );
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      report(
        exercise,
        "throws",
        `your ${fn} threw ${err.name}: ${err.message}; ${library} ran instead`,
      );
    }
    return;
  }
  const r = agree(mine);
  if (typeof r === "number" && r <= AGREE_TOL) {
    report(
      exercise,
      "agrees",
      /arithmetic/.test(library)
        ? `your ${fn} agrees with ${library}`
        : `your ${fn} agrees with ${library} (error ${
          r.toExponential(1)
        } against a float32 reference)`,
    );
  } else {
    report(
      exercise,
      "differs",
      `your ${fn} differs from ${library}: ${
        typeof r === "number" ? `error ${r.toExponential(1)}` : r
      }; the notebook goes on with ${library}, check ${exercise} in 15_assignment.ipynb`,
    );
  }
}

function tensorsError(pairs: [Tensor | undefined, Tensor][]): number | string {
  let worst = 0;
  for (const [a, b] of pairs) {
    if (!a || !(a.data instanceof Float64Array)) return "it returned no tensor";
    if (a.shape.join("x") !== b.shape.join("x")) {
      return `shape ${a.shape.join("x")}, expected ${b.shape.join("x")}`;
    }
    worst = Math.max(worst, float32Error(a.data, b.data));
  }
  return worst;
}

/**
 * Output length of a window (the lecture's `(N - F + 2P) / S + 1`), from the library's arithmetic
 * (`tf/output_size.ts`); your `convOutputSize` (ex1) runs beside it. Same signature and errors as
 * `convOutputSize` in `shape.ts`.
 *
 * @throws {ShapeError} when the window does not fit (the library's message)
 * @example
 * ```ts
 * import { convOutputSize } from "convkit/lecture.ts";
 * import assert from "node:assert/strict";
 * assert.equal(convOutputSize(7, 3, 2, 0), 3);
 * ```
 */
export function convOutputSize(
  n: number,
  f: number,
  s: number,
  p: number,
  where = "convOutputSize",
  rounding: "exact" | "floor" = "exact",
): number {
  let value: number | undefined, error: Error | undefined;
  try {
    value = outputSize(n, f, s, p, where, rounding);
  } catch (e) {
    error = e as Error;
  }
  beside(
    "ex1",
    "shape.ts",
    "convOutputSize",
    "the library's arithmetic",
    (mine) => {
      try {
        return { v: (mine as (...a: unknown[]) => number)(n, f, s, p, where, rounding) };
      } catch (e) {
        if (isNotImplemented(e)) throw e;
        return { e: e as Error };
      }
    },
    (r) =>
      error
        ? r.e?.name === error.name ? 0 : `it gave ${r.v ?? r.e?.name}, expected a ${error.name}`
        : r.e
        ? `it threw ${r.e.name} (${r.e.message}), expected ${value}`
        : r.v === value
        ? 0
        : `it gave ${r.v}, expected ${value}`,
  );
  if (error) throw error;
  return value!;
}

/** Shapes of a convolution (as `conv2dInfo` in `shape.ts`), from the library's arithmetic. */
export const conv2dInfo = convInfo;

/** The cache of the lecture's conv: the library's, and the inputs to build the student's. */
interface LectureConvCache {
  readonly layer: "conv2d";
  readonly lib: ReturnType<typeof conv2dForwardTf>["cache"];
  readonly x: Tensor;
  readonly w: Tensor;
  readonly b: Tensor;
  readonly opts: WindowOptions;
}

function convForward(
  exercise: string,
  path: ModulePath,
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: WindowOptions,
): { out: Tensor; cache: Conv2dCache } {
  const r = conv2dForwardTf(x, w, b, opts);
  beside(
    exercise,
    path,
    fn,
    "tfjs conv2d",
    (f) => (f as (...a: unknown[]) => { out: Tensor })(x, w, b, opts),
    (m) => tensorsError([[m?.out, r.out]]),
  );
  const cache: LectureConvCache = { layer: "conv2d", lib: r.cache, x, w, b, opts };
  return { out: r.out, cache: cache as unknown as Conv2dCache };
}

function convBackward(
  exercise: string,
  path: ModulePath,
  fn: string,
  dout: Tensor,
  cache: Conv2dCache,
): Conv2dGrads {
  const c = cache as unknown as LectureConvCache;
  if (!c || !("lib" in c)) {
    throw new TypeError(`${fn}: pass the cache returned by conv2dForward from convkit/lecture.ts`);
  }
  const g = conv2dBackwardTf(dout, c.lib);
  beside(exercise, path, fn, "tfjs's conv gradients", (f) => {
    // the cache is built here, so your backward pass is checked even before your forward pass works
    const info = conv2dInfo(c.x.shape, c.w.shape, c.opts, c.b.shape);
    const mine: Conv2dCache = { layer: "conv2d", x: c.x, w: c.w, b: c.b, info };
    return (f as (...a: unknown[]) => Conv2dGrads)(dout, mine);
  }, (m) => tensorsError([[m?.dx, g.dx], [m?.dw, g.dw], [m?.db, g.db]]));
  return g;
}

/**
 * The conv layer's forward pass (signature of `conv2dForward` in `layers/conv2d.ts`): tfjs conv2d;
 * your conv2dForward (ex2.1) runs beside it.
 *
 * @param x `[N, H, W, C]`; @param w `[F, F, C, K]`; @param b `[K]`
 * @returns out `[N, H', W', K]` and a cache for this module's `conv2dBackward`
 * @throws {ShapeError} on shapes that do not fit
 * @example
 * ```ts
 * import { conv2dForward } from "convkit/lecture.ts";
 * import { full } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const { out } = conv2dForward(full([1, 3, 3, 1], 1), full([3, 3, 1, 1], 1), full([1], 0), { stride: 1, pad: 0 });
 * assert.deepEqual([...out.data], [9]);
 * ```
 */
export function conv2dForward(x: Tensor, w: Tensor, b: Tensor, opts: WindowOptions) {
  return convForward("ex2.1", "layers/conv2d.ts", "conv2dForward", x, w, b, opts);
}

/** The conv layer's backward pass: tfjs's gradients; your conv2dBackward (ex2.2) runs beside them. */
export function conv2dBackward(dout: Tensor, cache: Conv2dCache): Conv2dGrads {
  return convBackward("ex2.2", "layers/conv2d.ts", "conv2dBackward", dout, cache);
}

/** The im2col path's forward pass: tfjs conv2d; your im2col conv (ex4.1) runs beside it. */
export function conv2dForwardIm2col(x: Tensor, w: Tensor, b: Tensor, opts: WindowOptions) {
  return convForward("ex4.1", "layers/conv2d_im2col.ts", "conv2dForwardIm2col", x, w, b, opts);
}

/** The im2col path's backward pass: tfjs's gradients; your col2im (ex4.2) runs beside them. */
export function conv2dBackwardIm2col(dout: Tensor, cache: Conv2dCache): Conv2dGrads {
  return convBackward("ex4.2", "layers/conv2d_im2col.ts", "conv2dBackwardIm2col", dout, cache);
}

interface LecturePoolCache {
  readonly layer: "maxPool2d";
  readonly lib: ReturnType<typeof maxPool2dForwardTf>["cache"];
  readonly mine?: MaxPool2dCache;
}

/**
 * Max pooling forward (signature of `maxPool2dForward` in `layers/pool2d.ts`): tfjs maxPool; your
 * maxPool2dForward (ex3.1) runs beside it.
 *
 * @param x `[N, H, W, C]`
 * @returns out `[N, (H - F) / S + 1, (W - F) / S + 1, C]` and a cache for `maxPool2dBackward`
 */
export function maxPool2dForward(
  x: Tensor,
  opts: PoolOptions,
): { out: Tensor; cache: MaxPool2dCache } {
  const r = maxPool2dForwardTf(x, opts);
  let mine: MaxPool2dCache | undefined;
  beside("ex3.1", "layers/pool2d.ts", "maxPool2dForward", "tfjs maxPool", (f) => {
    const m = (f as (...a: unknown[]) => { out: Tensor; cache: MaxPool2dCache })(x, opts);
    mine = m?.cache;
    return m;
  }, (m) => tensorsError([[m?.out, r.out]]));
  const cache: LecturePoolCache = { layer: "maxPool2d", lib: r.cache, mine };
  return { out: r.out, cache: cache as unknown as MaxPool2dCache };
}

/** Max pooling backward: tfjs's gradient; your maxPool2dBackward (ex3.2) runs beside it once ex3.1 works. */
export function maxPool2dBackward(dout: Tensor, cache: MaxPool2dCache): { dx: Tensor } {
  const c = cache as unknown as LecturePoolCache;
  if (!c || !("lib" in c)) {
    throw new TypeError(
      "maxPool2dBackward: pass the cache returned by maxPool2dForward from convkit/lecture.ts",
    );
  }
  const g = maxPool2dBackwardTf(dout, c.lib);
  beside("ex3.2", "layers/pool2d.ts", "maxPool2dBackward", "tfjs's max-pool gradient", (f) => {
    if (!c.mine) {
      throw Object.assign(new Error("Exercise ex3.1 is not implemented yet"), {
        name: "NotImplementedError",
        exercise: "ex3.1",
      });
    }
    return (f as (...a: unknown[]) => { dx: Tensor })(dout, c.mine);
  }, (m) => tensorsError([[m?.dx, g.dx]]));
  return g;
}

/**
 * The ThreeLayerConvNet's scores, loss and gradients (signature of `threeLayerConvNetLoss` in
 * `models/three_layer_convnet.ts`): its tfjs twin; your threeLayerConvNetLoss (ex6) runs beside it.
 */
export function threeLayerConvNetLoss(
  params: ThreeLayerConvNetParams,
  x: Tensor,
  y?: ArrayLike<number>,
  reg = 0,
): { scores: Tensor; loss?: number; grads?: ThreeLayerConvNetGrads } {
  const r = threeLayerConvNetLossTf(params, x, y, reg);
  beside(
    "ex6",
    "models/three_layer_convnet.ts",
    "threeLayerConvNetLoss",
    "the tfjs twin",
    (f) =>
      (f as (...a: unknown[]) => { scores: Tensor; loss?: number; grads?: ThreeLayerConvNetGrads })(
        params,
        x,
        y,
        reg,
      ),
    (m) => {
      if (r.loss !== undefined) {
        if (typeof m?.loss !== "number") return "it returned no loss";
        if (!(float32Error([m.loss], [r.loss]) <= AGREE_TOL)) {
          return `loss ${m.loss}, expected ${r.loss}`;
        }
      }
      const pairs: [Tensor | undefined, Tensor][] = [[m?.scores, r.scores]];
      if (r.grads) {
        for (const k of Object.keys(r.grads) as (keyof ThreeLayerConvNetGrads)[]) {
          pairs.push([m?.grads?.[k], r.grads[k]]);
        }
      }
      return tensorsError(pairs);
    },
  );
  return r;
}

export { isStudentEdition };

/**
 * Runs a cell's part that needs the student's own layers (e.g. timing the naive loops against im2col):
 * while one of the exercises it uses is not written, prints which (and where) instead of failing, so the
 * notebook goes on. In a student edition any other error of that code is printed too; in the
 * instructor's tree it is thrown, so the notebook's checks hold there.
 *
 * @param ids the exercises the code runs, e.g. `["ex2.1", "ex4.1"]`
 * @returns what `run` returned, or undefined when it could not run
 */
export async function withExercises<T>(
  ids: readonly string[],
  what: string,
  run: () => T | Promise<T>,
): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    if (isNotImplemented(e)) {
      const id = stubId(e) ?? ids.join(", ");
      console.log(
        `[${
          ids.join(", ")
        }] ${what} runs your code once ${id} is written (find "TODO ${id}" in lib/): skipped for now`,
      );
      return undefined;
    }
    if (!isStudentEdition()) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    console.log(
      `[${ids.join(", ")}] ${what}: your code threw ${err.name}: ${err.message} (check ${
        ids.join(", ")
      } in 15_assignment.ipynb)`,
    );
    return undefined;
  }
}
