import assert from "node:assert/strict";
import { relError } from "convkit/compare.ts";
import { gradCheck } from "convkit/gradcheck.ts";
import { reluForward } from "convkit/layers/relu.ts";
import {
  avgPool2dBackward,
  avgPool2dForward,
  maxPool2dBackward,
  maxPool2dForward,
} from "convkit/layers/pool2d.ts";
import { randn, Rng } from "convkit/random.ts";
import { tensor, zeros } from "convkit/tensor.ts";
import { fixtures, T } from "../fixtures.ts";

const pools = {
  max: { forward: maxPool2dForward, backward: maxPool2dBackward },
  avg: { forward: avgPool2dForward, backward: avgPool2dBackward },
};

for (const fx of fixtures.pool2d) {
  Deno.test(`${fx.kind}Pool2dForward/Backward match PyTorch ${fx.name}`, () => {
    const p = pools[fx.kind as "max" | "avg"];
    const opts = { size: fx.size, stride: fx.stride };
    // deno-lint-ignore no-explicit-any
    const { out, cache } = p.forward(T(fx.x), opts) as any;
    assert.ok(relError(out, T(fx.out)) < 1e-14);
    const { dx } = p.backward(T(fx.dout), cache);
    assert.ok(relError(dx, T(fx.dx)) < 1e-14);
  });
}

for (const kind of ["max", "avg"] as const) {
  for (
    const [label, xs, size, stride] of [["x=[2,4,6,3] F=2 S=2", [2, 4, 6, 3], 2, 2], [
      "x=[1,7,5,2] F=3 S=2",
      [1, 7, 5, 2],
      3,
      2,
    ]] as const
  ) {
    Deno.test(`${kind}Pool2dBackward() dx matches the numeric gradient ${label}`, () => {
      const rng = new Rng(3);
      const x = randn(xs, rng);
      const p = pools[kind];
      // deno-lint-ignore no-explicit-any
      const { out, cache } = p.forward(x, { size, stride }) as any;
      const dout = randn(out.shape, rng);
      const { dx } = p.backward(dout, cache);
      gradCheck(() => p.forward(x, { size, stride }).out, { x }, { x: dx }, dout);
    });
  }
}

Deno.test("maxPool2dForward() on the lecture's 4x4 example gives 6 8 / 3 4", () => {
  const x = tensor([1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4], [1, 4, 4, 1]);
  const { out } = maxPool2dForward(x, { size: 2, stride: 2 });
  assert.deepEqual(out.shape, [1, 2, 2, 1]);
  assert.deepEqual([...out.data], [6, 8, 3, 4]);
});

Deno.test("maxPool2dForward() keeps depth: 224x224x64 -> 112x112x64, each slice pooled alone", () => {
  const { out } = maxPool2dForward(zeros([1, 224, 224, 64]), { size: 2, stride: 2 });
  assert.deepEqual(out.shape, [1, 112, 112, 64]);
  // two channels with different maxima in one 2x2 window
  const x = tensor([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]);
  assert.deepEqual([...maxPool2dForward(x, { size: 2, stride: 2 }).out.data], [4, 40]);
});

Deno.test("pooling rejects strides that do not fit, wrong ranks and foreign caches", () => {
  assert.throws(
    () => maxPool2dForward(zeros([1, 5, 5, 1]), { size: 2, stride: 2 }),
    /\(5 - 2 \+ 0\) \/ 2 \+ 1 = 2.50/,
  );
  assert.throws(() => avgPool2dForward(zeros([5, 5, 1]), { size: 2, stride: 2 }), /rank 4/);
  const relu = reluForward(zeros([1, 2, 2, 1])).cache;
  assert.throws(
    () => maxPool2dBackward(zeros([1, 1, 1, 1]), relu as never),
    /cache from reluForward/,
  );
  const { cache } = avgPool2dForward(zeros([1, 4, 4, 1]), { size: 2, stride: 2 });
  assert.throws(
    () => avgPool2dBackward(zeros([1, 4, 4, 1]), cache),
    /dout must have shape 1x2x2x1/,
  );
});

Deno.test("maxPool2dForward() propagates NaN as PyTorch does, and its gradient goes to the NaN", () => {
  // PyTorch: F.max_pool2d(tensor([[[[nan, 1], [2, 3]]]]), 2) is nan; its gradient is 1 at the nan
  const x = { data: Float64Array.from([NaN, 1, 2, 3]), shape: [1, 2, 2, 1] }; // tensor() refuses NaN
  const { out, cache } = maxPool2dForward(x, { size: 2, stride: 2 });
  assert.ok(Number.isNaN(out.data[0]));
  assert.deepEqual([...maxPool2dBackward(tensor([1], [1, 1, 1, 1]), cache).dx.data], [1, 0, 0, 0]);
  // a window of -Infinity still sends its gradient somewhere (its first element)
  const inf = maxPool2dForward({ data: new Float64Array(4).fill(-Infinity), shape: [1, 2, 2, 1] }, {
    size: 2,
    stride: 2,
  });
  assert.equal(inf.out.data[0], -Infinity);
  assert.deepEqual([...maxPool2dBackward(tensor([1], [1, 1, 1, 1]), inf.cache).dx.data], [
    1,
    0,
    0,
    0,
  ]);
});

Deno.test("a NaN the layers make (0 * Infinity in a conv) reaches the loss through ReLU, max pooling and softmax", async () => {
  const { conv2dForward } = await import("convkit/layers/conv2d.ts");
  const { softmaxLoss } = await import("convkit/layers/softmax.ts");
  const x = { data: Float64Array.from([Infinity, 1, 1, 1]), shape: [1, 2, 2, 1] };
  const w = { data: Float64Array.from([0]), shape: [1, 1, 1, 1] }; // 0 * Infinity = NaN
  const conv = conv2dForward(x, w, tensor([0], [1]), { stride: 1, pad: 0 }).out;
  assert.ok(Number.isNaN(conv.data[0]));
  const relu = reluForward(conv).out;
  const pooled = maxPool2dForward(relu, { size: 2, stride: 2 }).out;
  assert.ok(Number.isNaN(pooled.data[0]), "the pool hid the NaN");
  const scores = { data: Float64Array.from([pooled.data[0], 0]), shape: [1, 2] };
  assert.ok(Number.isNaN(softmaxLoss(scores, Int32Array.from([0])).loss));
});
