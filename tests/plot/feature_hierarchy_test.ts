import assert from "node:assert/strict";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  cropPatch,
  featureHierarchyFigure,
  patchAloneActivations,
  topPatches,
} from "convkit/plot/feature_hierarchy.ts";
import { Rng } from "convkit/random.ts";
import { tf } from "convkit/tf/backend.ts";

// A planted case: conv1 (3x3, "same", linear, no bias) holds two hand-set detectors, then a 2x2 max
// pool. Five 12x12 images of small noise; image 3 holds a plus sign centred at (6, 8), image 1 a
// bright 2x2 block in its top-left corner. Which image and position must win is known by hand.
const SIZE = 12, N = 5;
// filter 0: a plus detector (+1 on the cross, -1 in the corners): 5 on the plus sign, at most 0.9 on noise
const PLUS = [-1, 1, -1, 1, 1, 1, -1, 1, -1];
// filter 1: +1 on the window's bottom-right 2x2, -1 elsewhere: 4 at unit (0, 0) over the corner block
const CORNER = [-1, -1, -1, -1, 1, 1, -1, 1, 1];

function planted() {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [SIZE, SIZE, 1],
        filters: 2,
        kernelSize: 3,
        padding: "same",
        useBias: false,
        name: "conv1",
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: "pool1" }),
      tfl.layers.flatten({ name: "flat" }),
    ],
  });
  const kernel = new Float32Array(9 * 2);
  for (let i = 0; i < 9; i++) {
    kernel[i * 2] = PLUS[i];
    kernel[i * 2 + 1] = CORNER[i];
  }
  model.layers[0].setWeights([tf.tensor4d(kernel, [3, 3, 1, 2])]);
  const rng = new Rng(3);
  const pixels = new Float32Array(N * SIZE * SIZE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = 0.1 * rng.uniform();
  const at = (n: number, y: number, x: number) => (n * SIZE + y) * SIZE + x;
  // the plus sign on a clean 3x3 background, so that its detector reads exactly 5
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) pixels[at(3, 6 + dy, 8 + dx)] = 0;
  }
  for (const [dy, dx] of [[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]]) {
    pixels[at(3, 6 + dy, 8 + dx)] = 1;
  }
  for (const [y, x] of [[0, 0], [0, 1], [1, 0], [1, 1]]) pixels[at(1, y, x)] = 1;
  const inputs = tf.tensor4d(pixels, [N, SIZE, SIZE, 1]);
  return { model, inputs, pixels: { data: pixels, shape: [N, SIZE, SIZE, 1] as const } };
}

Deno.test("topPatches() finds the planted plus sign and corner block where they were put", async () => {
  const { model, inputs } = planted();
  const top = await topPatches(model, inputs, { layers: ["conv1", "pool1"], k: 3, batchSize: 2 });
  const [conv, pool] = top.layers;
  assert.equal(conv.field.size[0], 3);
  const plus = conv.filters[0].hits[0];
  assert.deepEqual([plus.image, plus.y, plus.x], [3, 6, 8]);
  assert.ok(Math.abs(plus.activation - 5) < 1e-5, `${plus.activation}`);
  assert.deepEqual(plus.patch, { top: 5, left: 7, height: 3, width: 3 });
  const corner = conv.filters[1].hits[0];
  assert.deepEqual([corner.image, corner.y, corner.x], [1, 0, 0]);
  assert.ok(Math.abs(corner.activation - 4) < 1e-5, `${corner.activation}`);
  assert.deepEqual(corner.patch, { top: -1, left: -1, height: 3, width: 3 }); // reaches into the padding
  // through the pool: unit (3, 4) holds conv unit (6, 8); its field is 4x4 at rows 5-8, columns 7-10
  const pooled = pool.filters[0].hits[0];
  assert.deepEqual([pooled.image, pooled.y, pooled.x], [3, 3, 4]);
  assert.deepEqual(pooled.patch, { top: 5, left: 7, height: 4, width: 4 });
  // hits best first, one per image
  for (const f of conv.filters) {
    assert.equal(f.hits.length, 3);
    assert.ok(f.hits[0].activation >= f.hits[1].activation);
    assert.equal(new Set(f.hits.map((h) => h.image)).size, 3);
  }
  tf.dispose(inputs);
  model.dispose();
});

Deno.test("topPatches() gives the same hits for any batch size", async () => {
  const { model, inputs } = planted();
  const a = await topPatches(model, inputs, { layers: ["conv1"], k: 5, batchSize: 1 });
  const b = await topPatches(model, inputs, { layers: ["conv1"], k: 5, batchSize: 256 });
  assert.deepEqual(a, b);
  tf.dispose(inputs);
  model.dispose();
});

Deno.test("topPatches() refuses a filter outside the layer and a layer after Flatten", async () => {
  const { model, inputs } = planted();
  await assert.rejects(
    () => topPatches(model, inputs, { layers: ["conv1"], filters: [[2]] }),
    /filter 2 is outside/,
  );
  await assert.rejects(() => topPatches(model, inputs, { layers: ["flat"] }), /no receptive field/);
  tf.dispose(inputs);
  model.dispose();
});

Deno.test("cropPatch() fills the part of a field outside the image with the fill value", () => {
  // a 3x3 image 0..8; the field of a corner unit of a 3x3 "same" conv starts at (-1, -1)
  const img = { data: [0, 1, 2, 3, 4, 5, 6, 7, 8], shape: [1, 3, 3, 1] as const };
  const p = cropPatch(img, 0, { top: -1, left: -1, height: 3, width: 3 }, 0.5);
  assert.deepEqual([...p.data], [0.5, 0.5, 0.5, 0.5, 0, 1, 0.5, 3, 4]);
  assert.equal(p.outside, 5);
  const far = cropPatch(img, 0, { top: 2, left: 2, height: 2, width: 2 }, -1);
  assert.deepEqual([...far.data], [8, -1, -1, -1]);
  assert.throws(() => cropPatch(img, 1, { top: 0, left: 0, height: 1, width: 1 }, 0), RangeError);
});

Deno.test("patchAloneActivations() keeps hits' values when only their fields are kept, not a smaller window", async () => {
  const { model, inputs } = planted();
  const top = await topPatches(model, inputs, { layers: ["conv1", "pool1"], k: 2 });
  for (const l of top.layers) {
    const hits = l.filters.flatMap((f) => f.hits.map((hit) => ({ hit, filter: f.filter })));
    const alone = await patchAloneActivations(model, l.layer, inputs, hits);
    hits.forEach(({ hit }, i) => {
      assert.ok(
        Math.abs(alone[i] - hit.activation) < 1e-6,
        `${l.layer} ${alone[i]} vs ${hit.activation}`,
      );
    });
  }
  // a 1x1 window at the plus sign's centre is too small: the plus detector then reads 1, not 5
  const plus = top.layers[0].filters[0].hits[0];
  const small = { ...plus, patch: { top: 6, left: 8, height: 1, width: 1 } };
  const [alone] = await patchAloneActivations(model, "conv1", inputs, [{ hit: small, filter: 0 }]);
  assert.ok(Math.abs(alone - 1) < 1e-6, `${alone}`);
  tf.dispose(inputs);
  model.dispose();
});

Deno.test("featureHierarchyFigure() keeps its title and every layer's heading inside the canvas", async () => {
  const { model, inputs, pixels } = planted();
  const top = await topPatches(model, inputs, {
    layers: ["conv1", "pool1"],
    labels: ["conv1", "pool1"],
    k: 2,
  });
  const title = "the feature hierarchy of a planted two-layer model, stand-in data";
  const fig = await featureHierarchyFigure(top, pixels, { title });
  assert.equal(fig.title, title);
  assert.ok(fig.size.width >= title.length * 8, `${fig.size.width} px for the title`);
  const heading = "conv1: receptive field 3x3; 2 of 2 filters";
  assert.ok(fig.size.width >= heading.length * 7.5);
  // two blocks of one row each, patches about 48 px tall, stacked
  assert.ok(fig.size.height >= 2 * 48, `${fig.size.height}`);
  await assert.rejects(
    () => featureHierarchyFigure(top, { data: pixels.data, shape: [2, SIZE, SIZE, 1] }),
    RangeError,
  );
  tf.dispose(inputs);
  model.dispose();
});

Deno.test("topPatches() refuses an image that gives NaN instead of freezing the ranking behind it", async () => {
  const { model, pixels } = planted();
  const data = Float32Array.from(pixels.data);
  data[2 * SIZE * SIZE + 5] = NaN; // image 2
  const inputs = tf.tensor4d(data, [N, SIZE, SIZE, 1]);
  await assert.rejects(
    () => topPatches(model, inputs, { layers: ["conv1"], k: 2, batchSize: 4 }),
    /image 2 gives NaN in conv1 filter 0/,
  );
  inputs.dispose();
});
