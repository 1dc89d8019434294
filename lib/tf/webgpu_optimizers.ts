/**
 * SGD and Adam whose updates take fewer WebGPU dispatches. tfjs's `AdamOptimizer` updates each variable
 * with ~14 element-wise kernels (moments, bias corrections, square root, division, assignment), each its
 * own dispatch on the webgpu backend; SGD with two. The issue's H200 profile of the ConvNetJS net had ~20
 * ms of a 103 ms step outside the conv kernels, over ~140 kernels: with the conv gradients fast
 * (webgpu_kernels.ts), such small dispatches would be most of a step (inferred, not measured). Here, on webgpu, Adam updates a variable with
 * three dispatches (first moment, second moment, weights) and SGD with one; on every other backend, and
 * for anything but float32 variables, they are tfjs's own optimizers unchanged (these are subclasses).
 *
 * The arithmetic is tfjs 4.22's, in the same order and in float32, so the results match tfjs's optimizers
 * to float32 rounding (tests/tf/webgpu_optimizers_test.ts):
 *
 * - SGD: `w ← w + (−lr)·g`
 * - Adam (Kingma & Ba 2015, Algorithm 1, as tfjs computes it): `m ← β₁m + (1−β₁)g`,
 *   `v ← β₂v + (1−β₂)g²`, `w ← w + (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε) · (−lr)`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

type Info = tf.TensorInfo;
type Uniform = { type: "float32" | "int32"; data: number[] };
/** What tfjs passes to `applyGradients`: gradients by variable name, as a map or a list. */
type Gradients = { [name: string]: tf.Tensor } | { name: string; tensor: tf.Tensor }[];

/** The part of tfjs-webgpu's backend (4.22, `backend_webgpu.js`) that the updates use. */
interface WebGPUBackend {
  runWebGPUProgram(
    program: UpdateProgram,
    inputs: Info[],
    outputDtype: "float32",
    uniforms: Uniform[],
  ): Info;
}

/** The three element-wise updates, each one dispatch: WGSL of `result[i]` from the named inputs. */
const UPDATES = {
  sgd: { inputs: ["w", "g"], uniforms: "negLr : f32,", body: "w[i] + uniforms.negLr * g[i]" },
  adamM: {
    inputs: ["m", "g"],
    uniforms: "beta : f32, oneMinusBeta : f32,",
    body: "m[i] * uniforms.beta + g[i] * uniforms.oneMinusBeta",
  },
  adamV: {
    inputs: ["v", "g"],
    uniforms: "beta : f32, oneMinusBeta : f32,",
    body: "v[i] * uniforms.beta + (g[i] * g[i]) * uniforms.oneMinusBeta",
  },
  adamW: {
    inputs: ["w", "m", "v"],
    uniforms: "c1 : f32, c2 : f32, eps : f32, negLr : f32,",
    body:
      "(m[i] / uniforms.c1) / (sqrt(v[i] / uniforms.c2) + uniforms.eps) * uniforms.negLr + w[i]",
  },
} as const;

/** A `WebGPUProgram` (tfjs-webgpu's interface) for one of `UPDATES`, over a variable's elements. */
class UpdateProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  variableNames: string[];
  uniforms: string;
  size = true; // tfjs passes the element count as `uniforms.size`
  private body: string;

  constructor(kind: keyof typeof UPDATES, shape: number[]) {
    const u = UPDATES[kind];
    this.outputShape = shape;
    this.shaderKey = `convkitUpdate_${kind}`;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(Math.max(1, tf.util.sizeFromShape(shape)) / 64), 1, 1];
    this.variableNames = [...u.inputs];
    this.uniforms = u.uniforms;
    this.body = u.body;
  }

  getUserCode(): string {
    return `
  fn main(i : i32) {
    if (i < uniforms.size) {
      result[i] = ${this.body};
    }
  }`;
  }
}

/** Runs one update on the webgpu backend; the result is a new tensor (the caller assigns it). */
function update(kind: keyof typeof UPDATES, inputs: tf.Tensor[], values: number[]): tf.Tensor {
  const be = tf.backend() as unknown as WebGPUBackend;
  const out = be.runWebGPUProgram(
    new UpdateProgram(kind, inputs[0].shape),
    inputs,
    "float32",
    values.map((v) => ({ type: "float32", data: [v] })),
  );
  return tf.engine().makeTensorFromTensorInfo(out);
}

type Triple = { name: string; variable: tf.Variable; gradient: tf.Tensor | undefined };

/**
 * Whether this update can take the fused path: the webgpu backend, float32 variables and gradients of
 * the variables' own shapes (tfjs's ops broadcast and cast others; its code runs them), and (Adam) moments
 * of those shapes too (tfjs's code then throws its broadcast error, as with a shorter gradient list).
 */
function fusedHere(all: Triple[], moments: (tf.Tensor | undefined)[] = []): boolean {
  const same = (a: tf.Tensor | undefined, v: tf.Variable) =>
    !a || (a.dtype === "float32" && tf.util.arraysEqual(a.shape, v.shape));
  return tf.getBackend() === "webgpu" &&
    all.every((e, i) =>
      e.variable?.dtype === "float32" && same(e.gradient, e.variable) &&
      same(moments[i], e.variable)
    );
}

/** `variableGradients` (an array or a map, as tfjs passes them) as name/variable/gradient triples. */
function triples(
  variableGradients: Gradients,
): Triple[] {
  const list = Array.isArray(variableGradients)
    ? variableGradients.map((v) => ({ name: v.name, gradient: v.tensor }))
    : Object.keys(variableGradients).map((name) => ({ name, gradient: variableGradients[name] }));
  return list.map((e) => ({ ...e, variable: tf.engine().registeredVariables[e.name] }));
}

/**
 * tfjs's SGD (`tf.train.sgd`), updating each float32 variable with one dispatch on webgpu.
 *
 * @param learningRate the step size (> 0)
 * @see https://js.tensorflow.org/api/latest/#train.sgd
 */
export class FusedSGDOptimizer extends tf.SGDOptimizer {
  override applyGradients(
    variableGradients: Parameters<tf.SGDOptimizer["applyGradients"]>[0],
  ): void {
    const all = triples(variableGradients);
    if (!fusedHere(all)) return super.applyGradients(variableGradients);
    for (const { variable, gradient } of all) {
      if (!gradient) continue;
      tf.tidy(() => variable.assign(update("sgd", [variable, gradient], [this.negLr])));
    }
    this.incrementIterations();
  }

  /** tfjs's SGD steps by the rate last given here (its scalar `c`), not by `learningRate` set directly. */
  override setLearningRate(learningRate: number): void {
    super.setLearningRate(learningRate);
    this.negLr = -learningRate;
  }

  // `declare`: no field initializer, which would run after tfjs's constructor has called setLearningRate
  declare private negLr: number;
}

/** What tfjs's `AdamOptimizer` keeps per variable (4.22): a moment variable and its name. */
type Moment = { originalName: string; variable: tf.Variable };

/** A moment of `variable`, zero at the start, as tfjs's Adam creates it (not trainable). */
function zeroMoment(originalName: string, variable: tf.Variable): Moment {
  return { originalName, variable: tf.tidy(() => tf.zerosLike(variable).variable(false)) };
}

/**
 * tfjs's Adam (`tf.train.adam`), updating each float32 variable with three dispatches on webgpu. Its state
 * (moments, `beta^t`, iterations) is tfjs's, so `getWeights`/`setWeights` and saving work unchanged.
 *
 * @param learningRate the step size (> 0)
 * @param beta1 decay of the first moment (0 <= beta1 < 1)
 * @param beta2 decay of the second moment (0 <= beta2 < 1)
 * @param epsilon added to the root of the second moment
 * @see https://js.tensorflow.org/api/latest/#train.adam (Kingma & Ba 2015, "Adam", Algorithm 1)
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(
    variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0],
  ): void {
    const all = triples(variableGradients);
    // tfjs's own fields (not in its .d.ts): the moments, and beta^t kept as float32 variables
    const self = this as unknown as {
      accumulatedFirstMoment: Moment[];
      accumulatedSecondMoment: Moment[];
      accBeta1: tf.Variable;
      accBeta2: tf.Variable;
    };
    const moments = all.map((_, i) => self.accumulatedFirstMoment[i]?.variable);
    if (!fusedHere(all, moments)) return super.applyGradients(variableGradients);
    // beta^t as tfjs has it: float32, multiplied by beta once a step from beta, or pow(beta, t) when
    // setWeights (or a step of tfjs's own code) set it; kept here too, so that it needs no GPU read
    const f = Math.fround, t = this.iterations + 1;
    if (this.acc?.step !== t) {
      this.acc = { step: t, beta: [f(f(this.beta1) ** t), f(f(this.beta2) ** t)] };
    }
    const [acc1, acc2] = this.acc.beta;
    const c1 = f(1 - acc1), c2 = f(1 - acc2);
    tf.tidy(() => {
      for (const [i, { name, variable, gradient }] of all.entries()) {
        self.accumulatedFirstMoment[i] ??= zeroMoment(`${name}/m`, variable);
        self.accumulatedSecondMoment[i] ??= zeroMoment(`${name}/v`, variable);
        if (!gradient) continue;
        const m = self.accumulatedFirstMoment[i].variable,
          v = self.accumulatedSecondMoment[i].variable;
        m.assign(update("adamM", [m, gradient], [this.beta1, 1 - this.beta1]));
        v.assign(update("adamV", [v, gradient], [this.beta2, 1 - this.beta2]));
        variable.assign(
          update("adamW", [variable, m, v], [c1, c2, this.epsilon, -this.learningRate]),
        );
      }
      // what tfjs's step does to them (uploads, not dispatches)
      self.accBeta1.assign(tf.scalar(f(acc1 * f(this.beta1))));
      self.accBeta2.assign(tf.scalar(f(acc2 * f(this.beta2))));
    });
    this.acc = { step: t + 1, beta: [f(acc1 * f(this.beta1)), f(acc2 * f(this.beta2))] };
    this.incrementIterations();
  }

  /** beta^t for step `step`, as tfjs holds it in `accBeta1`/`accBeta2` then. */
  private acc: { step: number; beta: [number, number] } | undefined;
}
