import assert from "node:assert/strict";
import { assertAllClose, relError } from "convkit/compare.ts";
import { gradCheck } from "convkit/gradcheck.ts";
import { conv2dBackward, conv2dForward } from "convkit/layers/conv2d.ts";
import { conv2dBackwardIm2col, conv2dForwardIm2col } from "convkit/layers/conv2d_im2col.ts";
import { maxPool2dForward } from "convkit/layers/pool2d.ts";
import { randn, Rng } from "convkit/random.ts";
import { ShapeError } from "convkit/shape.ts";
import { full, type Tensor, tensor, zeros } from "convkit/tensor.ts";
import { fixtures, T } from "../fixtures.ts";

// Both paths run the same tests: naive loops and im2col + matrix product.
const paths = [
  { name: "conv2dForward/conv2dBackward", forward: conv2dForward, backward: conv2dBackward },
  {
    name: "conv2dForwardIm2col/conv2dBackwardIm2col",
    forward: conv2dForwardIm2col,
    backward: conv2dBackwardIm2col,
  },
];

for (const path of paths) {
  for (const fx of fixtures.conv2d) {
    Deno.test(`${path.name} matches PyTorch conv2d forward and backward ${fx.name}`, () => {
      const opts = { stride: fx.stride, pad: fx.pad };
      const { out, cache } = path.forward(T(fx.x), T(fx.w), T(fx.b), opts);
      assert.ok(relError(out, T(fx.out)) < 1e-12, `out rel error ${relError(out, T(fx.out))}`);
      const g = path.backward(T(fx.dout), cache);
      for (
        const [name, mine, ref] of [["dx", g.dx, fx.dx], ["dw", g.dw, fx.dw], [
          "db",
          g.db,
          fx.db,
        ]] as const
      ) {
        const e = relError(mine, T(ref));
        assert.ok(e < 1e-12, `${name} rel error ${e}`);
      }
    });
  }

  for (
    const [label, xs, ws, stride, pad] of [
      ["x=[2,5,5,3] w=[3,3,3,4] s=1 p=1", [2, 5, 5, 3], [3, 3, 3, 4], 1, 1],
      ["x=[1,7,5,2] w=[3,3,2,3] s=2 p=0 (non-square)", [1, 7, 5, 2], [3, 3, 2, 3], 2, 0],
      ["x=[2,4,4,3] w=[1,1,3,2] s=1 p=0 (1x1)", [2, 4, 4, 3], [1, 1, 3, 2], 1, 0],
      ["x=[1,6,6,2] w=[4,4,2,2] s=2 p=1", [1, 6, 6, 2], [4, 4, 2, 2], 2, 1],
    ] as const
  ) {
    Deno.test(`${path.name} dx, dw, db match the numeric gradient ${label}`, () => {
      const rng = new Rng(7);
      const x = randn(xs, rng), w = randn(ws, rng), b = randn([ws[3]], rng);
      const opts = { stride, pad };
      const { out, cache } = path.forward(x, w, b, opts);
      const dout = randn(out.shape, rng);
      const { dx, dw, db } = path.backward(dout, cache);
      const errs = gradCheck(
        () => path.forward(x, w, b, opts).out,
        { x, w, b },
        { x: dx, w: dw, b: db },
        dout,
        {
          where: path.name,
        },
      );
      for (const e of Object.values(errs)) assert.ok(e < 1e-7); // finite differences at h = 1e-5: ~1e-9
    });
  }

  Deno.test(`${path.name} computes the lecture's 32x32x3 * 5x5x3 -> 28x28x1: 75 multiply-adds per position`, () => {
    // all-ones image and filter: every output is 5*5*3 = 75 products of 1, plus the bias 0.5
    const { out } = path.forward(full([1, 32, 32, 3], 1), full([5, 5, 3, 1], 1), full([1], 0.5), {
      stride: 1,
      pad: 0,
    });
    assert.deepEqual(out.shape, [1, 28, 28, 1]);
    assert.ok(out.data.every((v) => v === 75.5));
    const six =
      path.forward(zeros([1, 32, 32, 3]), zeros([5, 5, 3, 6]), zeros([6]), { stride: 1, pad: 0 })
        .out;
    assert.deepEqual(six.shape, [1, 28, 28, 6]);
    const ten = path.forward(six, zeros([5, 5, 6, 10]), zeros([10]), { stride: 1, pad: 0 }).out;
    assert.deepEqual(ten.shape, [1, 24, 24, 10]);
  });

  Deno.test(`${path.name} zero-pads: a 3x3 filter of ones on a 3x3 image of ones with pad 1 counts neighbours`, () => {
    const { out } = path.forward(full([1, 3, 3, 1], 1), full([3, 3, 1, 1], 1), zeros([1]), {
      stride: 1,
      pad: 1,
    });
    // corners see 4 cells, edges 6, the centre 9
    assert.deepEqual([...out.data], [4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  Deno.test(`${path.name} rejects mismatched channels, wrong ranks, bad bias, strides that do not fit`, () => {
    const x = zeros([1, 7, 7, 3]);
    const ok = { stride: 1, pad: 0 };
    assert.throws(
      () => path.forward(x, zeros([3, 3, 4, 2]), zeros([2]), ok),
      /4 input channels, but x .* has 3/,
    );
    assert.throws(
      () => path.forward(zeros([7, 7, 3]), zeros([3, 3, 3, 2]), zeros([2]), ok),
      ShapeError,
    );
    assert.throws(() => path.forward(x, zeros([3, 3, 3]), zeros([2]), ok), /rank 4/);
    assert.throws(
      () => path.forward(x, zeros([3, 3, 3, 2]), zeros([3]), ok),
      /bias must have shape \[2\]/,
    );
    assert.throws(
      () => path.forward(x, zeros([3, 3, 3, 2]), zeros([2]), { stride: 3, pad: 0 }),
      /\(7 - 3 \+ 0\) \/ 3 \+ 1 = 2.33 is not an integer/,
    );
    assert.throws(
      () =>
        path.forward({ data: [1, 2], shape: [2] } as unknown as Tensor, zeros([1]), zeros([1]), ok),
      TypeError,
    );
  });

  Deno.test(`${path.name} backward rejects a cache from another layer and dout of the wrong shape`, () => {
    const pool = maxPool2dForward(zeros([1, 4, 4, 1]), { size: 2, stride: 2 }).cache;
    assert.throws(
      () => path.backward(zeros([1, 2, 2, 1]), pool as never),
      /cache from maxPool2dForward/,
    );
    const { cache } = path.forward(zeros([1, 5, 5, 1]), zeros([3, 3, 1, 2]), zeros([2]), {
      stride: 1,
      pad: 0,
    });
    assert.throws(
      () => path.backward(zeros([1, 3, 3, 1]), cache),
      /dout must have shape 1x3x3x2, got 1x3x3x1/,
    );
  });
}

Deno.test("conv2dForwardIm2col() matches conv2dForward on seeded inputs (relative error < 1e-12)", () => {
  const rng = new Rng(11);
  const x = randn([4, 13, 11, 5], rng), w = randn([3, 3, 5, 7], rng), b = randn([7], rng);
  for (const opts of [{ stride: 1, pad: 1 }, { stride: 2, pad: 0 }, { stride: 2, pad: 2 }]) {
    const a = conv2dForward(x, w, b, { ...opts, rounding: "floor" });
    const c = conv2dForwardIm2col(x, w, b, { ...opts, rounding: "floor" });
    assertAllClose(c.out, a.out, { atol: 1e-12, rtol: 1e-12 });
    const dout = randn(a.out.shape, rng);
    const ga = conv2dBackward(dout, a.cache), gc = conv2dBackwardIm2col(dout, c.cache);
    assert.ok(
      relError(gc.dx, ga.dx) < 1e-12 && relError(gc.dw, ga.dw) < 1e-12 &&
        relError(gc.db, ga.db) < 1e-12,
    );
  }
});

Deno.test("conv2dForward() hand-derived: a 3x3 image, 2x2 filter [[1, 0], [0, -1]], stride 1", () => {
  // x = 1 2 3 / 4 5 6 / 7 8 9: each output is top-left minus bottom-right = -4
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  const w = tensor([1, 0, 0, -1], [2, 2, 1, 1]);
  assert.deepEqual([...conv2dForward(x, w, zeros([1]), { stride: 1, pad: 0 }).out.data], [
    -4,
    -4,
    -4,
    -4,
  ]);
});
