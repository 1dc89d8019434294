import assert from "node:assert/strict";
import {
  gradCheck,
  GradCheckError,
  numericGradient,
  numericGradientScalar,
} from "convkit/gradcheck.ts";
import { tensor } from "convkit/tensor.ts";

Deno.test("numericGradient() of sum(sin(x) * dout) is cos(x) * dout", () => {
  const x = tensor([0.1, -1.2, 2.5, 0], [2, 2]);
  const dout = tensor([1, -2, 0.5, 3], [2, 2]);
  const g = numericGradient(() => tensor(x.data.map(Math.sin), [2, 2]), x, dout);
  g.data.forEach((v, i) => assert.ok(Math.abs(v - Math.cos(x.data[i]) * dout.data[i]) < 1e-9));
  assert.deepEqual([...x.data], [0.1, -1.2, 2.5, 0]); // restored
});

Deno.test("numericGradientScalar() of a quadratic form is exact up to rounding", () => {
  const x = tensor([1, 2, 3], [3]);
  const g = numericGradientScalar(() => x.data[0] * x.data[1] + x.data[2] ** 2, x);
  [2, 1, 6].forEach((v, i) => assert.ok(Math.abs(g.data[i] - v) < 1e-9));
});

Deno.test("gradCheck() names the argument, index, analytic and numeric values of a wrong gradient", () => {
  const a = tensor([1, 2, 3, 4], [2, 2]), b = tensor([0.5, -1], [2]);
  const f = () => tensor(a.data.map((v, i) => v * b.data[i % 2]), [2, 2]);
  const dout = tensor([1, 1, 1, 1], [2, 2]);
  const da = tensor([0.5, -1, 0.5, -1], [2, 2]);
  const db = tensor([4, 6], [2]); // right: [1 + 3, 2 + 4]
  const errs = gradCheck(f, { a, b }, { a: da, b: db }, dout);
  assert.ok(errs.a < 1e-9 && errs.b < 1e-9);
  const wrong = tensor([4, 7], [2]);
  assert.throws(
    () => gradCheck(f, { a, b }, { a: da, b: wrong }, dout, { where: "mul" }),
    (e: unknown) => {
      assert.ok(e instanceof GradCheckError);
      assert.equal(e.argument, "b");
      assert.deepEqual(e.index, [1]);
      assert.equal(e.analytic, 7);
      assert.ok(Math.abs(e.numeric - 6) < 1e-8);
      assert.match(e.message, /^mul: gradient check failed: db\[1\]: analytic 7, numeric 5\.99999/);
      return true;
    },
  );
});
