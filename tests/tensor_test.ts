import assert from "node:assert/strict";
import { assertAllClose, assertShape, cmp, NotCloseError, relError } from "convkit/compare.ts";
import { randn, Rng } from "convkit/random.ts";
import { indexOf, offsetOf, reshape, ShapeError, tensor, zeros } from "convkit/mod.ts";

Deno.test("tensor() rejects data that does not fill the shape, naming both sizes", () => {
  assert.throws(
    () => tensor([1, 2, 3], [2, 2]),
    (e: unknown) =>
      e instanceof ShapeError && /3 values do not fill a 2x2 tensor \(4 values\)/.test(e.message),
  );
  assert.throws(() => tensor([1, NaN], [2]), RangeError);
  assert.throws(() => zeros([2, -1]), RangeError);
});

Deno.test("offsetOf() and indexOf() are row-major inverses on an NHWC shape", () => {
  const shape = [2, 3, 4, 5];
  assert.equal(offsetOf(shape, [1, 2, 3, 4]), 119);
  assert.deepEqual(indexOf(shape, 119), [1, 2, 3, 4]);
  assert.equal(offsetOf(shape, [0, 0, 1, 0]), 5);
  assert.throws(() => offsetOf(shape, [0, 3, 0, 0]), RangeError);
});

Deno.test("reshape() refuses a different size", () => {
  assert.throws(() => reshape(zeros([2, 3]), [4, 2]), ShapeError);
});

Deno.test("assertAllClose() lists the worst elements with their indices", () => {
  const a = tensor([0, 0, 0, 0], [2, 2]);
  const b = tensor([0, 1e-3, 0, 5], [2, 2]);
  assert.throws(() => assertAllClose(a, b, {}, "dx"), (e: unknown) => {
    assert.ok(e instanceof NotCloseError);
    const lines = e.message.split("\n");
    assert.match(lines[0], /dx: 2 of 4 elements differ/);
    assert.match(lines[1], /\[1, 1\]: actual 0 expected 5/); // the worst first
    assert.match(lines[2], /\[0, 1\]: actual 0 expected 0.001/);
    return true;
  });
  assert.throws(() => assertAllClose(a, zeros([4])), ShapeError);
  assertAllClose(a, b, { atol: 5 });
});

Deno.test("relError() is |a - b| / (|a| + |b|) at the worst element", () => {
  assert.equal(relError(tensor([1, 3], [2]), tensor([1, 1], [2])), 0.5);
  assert.equal(relError(tensor([0, 0], [2]), tensor([0, 0], [2])), 0);
  assert.equal(relError(tensor([1], [1]), { data: [NaN], shape: [1] }), Infinity);
});

Deno.test("cmp() reports exact, close and max diff, and throws on request", () => {
  const x = randn([3, 4], new Rng(1));
  const y = tensor(x.data.map((v) => v + 1e-12), [3, 4]);
  const r = cmp("out", x, y);
  assert.equal(r.exact, false);
  assert.equal(r.close, true);
  assert.ok(r.maxDiff > 0 && r.maxDiff < 2e-12);
  assert.match(String(r), /^out +\| exact: false \| close: true/);
  assert.throws(() => cmp("out", x, zeros([3, 4]), { throw: true }), NotCloseError);
});

Deno.test("assertShape() names the expected and actual shapes", () => {
  assert.throws(
    () => assertShape(zeros([1, 24, 24, 10]), [1, 28, 28, 10], "conv2"),
    /conv2: expected 1x28x28x10, got 1x24x24x10/,
  );
});
