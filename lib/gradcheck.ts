/**
 * Numeric gradient checking: centred differences of `sum(forward(inputs) * dout)`, compared with the
 * analytic gradients a backward pass returns.
 *
 * For an input x and upstream gradient dout, the numeric gradient at element i is
 * `(L(x + h e_i) - L(x - h e_i)) / 2h` with `L(x) = sum(forward(x) * dout)`.
 *
 * @module
 */
import { worstElements } from "./compare.ts";
import { dot, formatShape, type Tensor } from "./tensor.ts";

/**
 * Numeric gradient of `sum(f() * dout)` with respect to `x`, by centred differences. `f` must read
 * `x.data` each time it runs: the function perturbs it in place and restores it.
 *
 * @param f recomputes the output from the current inputs
 * @param x the input to differentiate, perturbed in place one element at a time
 * @param dout upstream gradient, the shape of `f()`'s output
 * @param h step, 1e-5 by default (float64)
 *
 * @example
 * ```ts
 * import { numericGradient } from "convkit/gradcheck.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2, 3], [3]);
 * const square = () => tensor(x.data.map((v) => v * v), [3]);
 * const g = numericGradient(square, x, tensor([1, 1, 1], [3]));
 * g.data.forEach((v, i) => assert.ok(Math.abs(v - 2 * x.data[i]) < 1e-8)); // d(x^2)/dx = 2x
 * ```
 */
export function numericGradient(f: () => Tensor, x: Tensor, dout: Tensor, h = 1e-5): Tensor {
  const grad = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const old = x.data[i];
    x.data[i] = old + h;
    const plus = dot(f(), dout);
    x.data[i] = old - h;
    const minus = dot(f(), dout);
    x.data[i] = old;
    grad[i] = (plus - minus) / (2 * h);
  }
  return { data: grad, shape: [...x.shape] };
}

/** Numeric gradient of a scalar function (a loss) with respect to `x`, by centred differences. */
export function numericGradientScalar(f: () => number, x: Tensor, h = 1e-5): Tensor {
  const grad = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const old = x.data[i];
    x.data[i] = old + h;
    const plus = f();
    x.data[i] = old - h;
    const minus = f();
    x.data[i] = old;
    grad[i] = (plus - minus) / (2 * h);
  }
  return { data: grad, shape: [...x.shape] };
}

/** A failed gradient check: which argument, where, and both values. */
export class GradCheckError extends Error {
  constructor(
    message: string,
    readonly argument: string,
    readonly index: readonly number[],
    readonly analytic: number,
    readonly numeric: number,
    readonly relError: number,
  ) {
    super(message);
    this.name = "GradCheckError";
  }
}

/** Options of `gradCheck`. */
export interface GradCheckOptions {
  /** Finite-difference step (default 1e-5). */
  h?: number;
  /** Largest relative error that passes (default 1e-7). */
  tol?: number;
  /** Name of the layer or function, put in front of failures. */
  where?: string;
}

/**
 * Checks analytic gradients against numeric ones for every named input and returns the relative error
 * of each (see `relError` in compare.ts). Inputs are perturbed in place and restored.
 *
 * @param forward recomputes the output from the current `inputs`
 * @param inputs the tensors to differentiate, by name (e.g. `{ x, w, b }`)
 * @param analytic the backward pass's gradients, by the same names (e.g. `{ x: dx, w: dw, b: db }`)
 * @param dout the upstream gradient the backward pass was given
 * @throws {GradCheckError} naming the argument, index, analytic and numeric value of the worst element
 *
 * @example
 * ```ts
 * import { gradCheck } from "convkit/gradcheck.ts";
 * import { tensor } from "convkit/tensor.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, -2, 3], [3]);
 * const cube = () => tensor(x.data.map((v) => v ** 3), [3]);
 * const dout = tensor([0.5, 1, -1], [3]);
 * const dx = tensor(x.data.map((v, i) => 3 * v * v * dout.data[i]), [3]);
 * assert.ok(gradCheck(cube, { x }, { x: dx }, dout).x < 1e-8);
 * const wrong = tensor([0, 0, 0], [3]);
 * assert.throws(() => gradCheck(cube, { x }, { x: wrong }, dout), /dx\[0\]: analytic 0, numeric 1.5/);
 * ```
 */
export function gradCheck(
  forward: () => Tensor,
  inputs: Record<string, Tensor>,
  analytic: Record<string, Tensor>,
  dout: Tensor,
  opts: GradCheckOptions = {},
): Record<string, number> {
  const h = opts.h ?? 1e-5, tol = opts.tol ?? 1e-7;
  const where = opts.where ? `${opts.where}: ` : "";
  const errors: Record<string, number> = {};
  for (const [name, x] of Object.entries(inputs)) {
    const a = analytic[name];
    if (a === undefined) {
      throw new TypeError(`${where}gradCheck: no analytic gradient given for "${name}"`);
    }
    if (a.data.length !== x.data.length) {
      throw new TypeError(
        `${where}gradCheck: d${name} has shape ${formatShape(a.shape)} but ${name} has ${
          formatShape(x.shape)
        }`,
      );
    }
    const num = numericGradient(forward, x, dout, h);
    const [worst] = worstElements({ data: a.data, shape: x.shape }, num, 1);
    const err = worst?.relError ?? 0;
    errors[name] = err;
    if (!(err <= tol)) {
      throw new GradCheckError(
        `${where}gradient check failed: d${name}[${
          worst.index.join(", ")
        }]: analytic ${worst.a}, numeric ${worst.b}, ` +
          `relative error ${err.toExponential(2)} > ${tol}`,
        name,
        worst.index,
        worst.a,
        worst.b,
        err,
      );
    }
  }
  return errors;
}
