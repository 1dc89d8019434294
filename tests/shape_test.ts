import assert from "node:assert/strict";
import { conv2dInfo, convOutputSize, pool2dInfo, samePad, ShapeError } from "convkit/shape.ts";

// Expected values are the lecture's (CS231n Lecture 7) worked examples, derived by hand.

Deno.test("convOutputSize() gives the lecture's 7x7 input, 3x3 filter sizes: stride 1 -> 5, stride 2 -> 3", () => {
  assert.equal(convOutputSize(7, 3, 1, 0), 5);
  assert.equal(convOutputSize(7, 3, 2, 0), 3);
});

Deno.test("convOutputSize() throws a ShapeError showing the arithmetic for stride 3 on 7x7 with 3x3", () => {
  assert.throws(
    () => convOutputSize(7, 3, 3, 0, "conv2dForward"),
    (e: unknown) => {
      assert.ok(e instanceof ShapeError && e instanceof TypeError);
      assert.equal(
        e.message,
        "conv2dForward: stride 3 does not fit a 7-wide input with a 3-wide filter and pad 0: (7 - 3 + 0) / 3 + 1 = 2.33 is not an integer",
      );
      return true;
    },
  );
});

Deno.test("convOutputSize() keeps 7x7 with pad 1 and 32x32 with 5x5 and pad 2; 32 -> 28 without", () => {
  assert.equal(convOutputSize(7, 3, 1, 1), 7);
  assert.equal(convOutputSize(32, 5, 1, 2), 32);
  assert.equal(convOutputSize(32, 5, 1, 0), 28);
  assert.equal(convOutputSize(227, 11, 4, 0), 55); // AlexNet CONV1
});

Deno.test("convOutputSize() rejects a filter larger than the padded input and bad hyperparameters", () => {
  assert.throws(() => convOutputSize(3, 5, 1, 0), ShapeError);
  assert.throws(() => convOutputSize(7, 3, 0, 0), RangeError);
  assert.throws(() => convOutputSize(7, 3, 1, -1), RangeError);
  assert.throws(() => convOutputSize(7, 3, 1.5, 0), RangeError);
});

Deno.test("convOutputSize() rounds down with rounding 'floor' (ResNet: 56 -> 28 with 3x3 s=2 p=1)", () => {
  assert.equal(convOutputSize(56, 3, 2, 1, "x", "floor"), 28);
  assert.equal(convOutputSize(7, 3, 3, 0, "x", "floor"), 2);
});

Deno.test("samePad() is (F - 1) / 2 for odd F and refuses even F", () => {
  assert.deepEqual([3, 5, 7].map(samePad), [1, 2, 3]);
  assert.throws(() => samePad(4), RangeError);
});

Deno.test("conv2dInfo() names both channel counts when they differ", () => {
  assert.throws(
    () => conv2dInfo([1, 32, 32, 3], [5, 5, 6, 10], { stride: 1, pad: 0 }),
    /expect 6 input channels, but x \[1, 32, 32, 3\] has 3/,
  );
  const info = conv2dInfo([1, 28, 28, 6], [5, 5, 6, 10], { stride: 1, pad: 0 });
  assert.deepEqual([info.outH, info.outW, info.k], [24, 24, 10]);
});

Deno.test("conv2dInfo() handles non-square inputs axis by axis", () => {
  const info = conv2dInfo([2, 7, 9, 3], [3, 3, 3, 2], { stride: 2, pad: 1 });
  assert.deepEqual([info.outH, info.outW], [4, 5]);
  assert.throws(() => conv2dInfo([1, 7, 8, 3], [3, 3, 3, 2], { stride: 2, pad: 0 }), /\(width\)/);
});

Deno.test("pool2dInfo() keeps depth: 224x224x64 -> 112x112x64 with F=2 S=2; 4x4 -> 2x2", () => {
  const a = pool2dInfo([1, 224, 224, 64], { size: 2, stride: 2 });
  assert.deepEqual([a.outH, a.outW, a.c], [112, 112, 64]);
  const b = pool2dInfo([1, 55, 55, 96], { size: 3, stride: 2 }); // AlexNet POOL1
  assert.deepEqual([b.outH, b.outW], [27, 27]);
  assert.throws(() => pool2dInfo([1, 55, 55], { size: 3, stride: 2 }), /rank 4/);
});
