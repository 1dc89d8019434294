import assert from "node:assert/strict";
import { channelStats } from "convkit/data/batch.ts";
import {
  centreCropBox,
  fitImage,
  imageToInput,
  resizeArea,
  toGrey,
} from "convkit/data/fit_image.ts";

const dir = new URL("../fixtures/images/", import.meta.url).pathname;
const expected = JSON.parse(Deno.readTextFileSync(`${dir}expected.json`));
const img = (data: number[], h: number, w: number, c: number) => ({
  data: Float64Array.from(data),
  shape: [1, h, w, c],
});

Deno.test("resizeArea() averages 2x2 blocks when halving a 4x4 image (hand-derived)", () => {
  // rows 0..3 of 0..15: block (0,0) = mean(0, 1, 4, 5) = 2.5, (0,1) = mean(2, 3, 6, 7) = 4.5, ...
  const r = resizeArea(img(Array.from({ length: 16 }, (_, i) => i), 4, 4, 1), 2, 2);
  assert.deepEqual(r.shape, [1, 2, 2, 1]);
  assert.deepEqual([...r.data], [2.5, 4.5, 10.5, 12.5]);
});

for (const [h, w] of [[3, 4], [2, 2]]) {
  Deno.test(`resizeArea() matches PIL's BOX resize 6x8 -> ${h}x${w} (whole factors)`, () => {
    const src = expected.box_src;
    const r = resizeArea(img(src.data, 6, 8, 1), h, w);
    const ref = expected[`box_${h}x${w}`].data as number[];
    ref.forEach((v, i) => assert.ok(Math.abs(r.data[i] - v) < 1e-4, `${i}: ${r.data[i]} vs ${v}`));
  });
}

Deno.test("resizeArea() weights pixels by the area they overlap when the factor is fractional", () => {
  // 3x3 -> 2x2, each output pixel covers 1.5 x 1.5 source pixels. Output (0, 0): rows and columns
  // [0, 1.5): pixel (0,0) whole, (0,1) and (1,0) half, (1,1) a quarter, over the area 2.25:
  // (1 * 0 + 0.5 * 10 + 0.5 * 30 + 0.25 * 40) / 2.25 = 30 / 2.25 = 13.333...
  const src = img([0, 10, 20, 30, 40, 50, 60, 70, 80], 3, 3, 1);
  const r = resizeArea(src, 2, 2);
  assert.ok(Math.abs(r.data[0] - 30 / 2.25) < 1e-12, `${r.data[0]}`);
  // output (1, 1): (0.25 * 40 + 0.5 * 50 + 0.5 * 70 + 1 * 80) / 2.25 = 150 / 2.25
  assert.ok(Math.abs(r.data[3] - 150 / 2.25) < 1e-12, `${r.data[3]}`);
});

Deno.test("resizeArea() repeats pixels when enlarging, channel by channel", () => {
  const r = resizeArea(img([10, 20, 30, 40], 1, 2, 2), 2, 4);
  assert.deepEqual([...r.data], [10, 20, 10, 20, 30, 40, 30, 40, 10, 20, 10, 20, 30, 40, 30, 40]);
});

Deno.test("centreCropBox() keeps the middle of the longer side", () => {
  assert.deepEqual(centreCropBox(4, 6, 1, 1), [0, 1, 4, 4]); // landscape -> square
  assert.deepEqual(centreCropBox(9, 4, 1, 1), [2, 0, 4, 4]); // portrait: floor((9 - 4) / 2) = 2
  assert.deepEqual(centreCropBox(32, 32, 32, 32), [0, 0, 32, 32]);
  assert.deepEqual(centreCropBox(10, 30, 1, 2), [0, 5, 10, 20]); // to 1:2
});

Deno.test("toGrey() weights R, G, B by 0.299, 0.587, 0.114", () => {
  const g = toGrey(img([0, 255, 0, 0, 0, 255], 1, 2, 3));
  assert.deepEqual([...g.data].map((v) => +v.toFixed(6)), [149.685, 29.07]);
});

Deno.test("fitImage() puts an inverted, shrunk grey image in a black margin (MNIST-style)", () => {
  // 4x4 white page with a black 2x2 block top-left, to a 4x4 input with margin 1: the 2x2 inside is
  // the page halved: block (0,0) black -> inverted 255; the rest white -> 0; the margin 0
  const page = Array.from(
    { length: 16 },
    (_, p) => (p === 0 || p === 1 || p === 4 || p === 5 ? 0 : 255),
  );
  const rgb = page.flatMap((v) => [v, v, v]);
  const out = fitImage(img(rgb, 4, 4, 3), { shape: [4, 4, 1], margin: 1, invert: true });
  assert.deepEqual([...out], [0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test('fitImage() inverts on "auto" only an image with a light border', () => {
  // dark digit on white: border mean 255 -> inverted; white digit on black: border 0 -> kept
  const paper = img([255, 255, 255, 255, 0, 255, 255, 255, 255], 3, 3, 1);
  assert.deepEqual([...fitImage(paper, { shape: [3, 3, 1], invert: "auto" })], [
    0,
    0,
    0,
    0,
    255,
    0,
    0,
    0,
    0,
  ]);
  const mnist = img([0, 0, 0, 0, 255, 0, 0, 0, 0], 3, 3, 1);
  assert.deepEqual([...fitImage(mnist, { shape: [3, 3, 1], invert: "auto" })], [
    0,
    0,
    0,
    0,
    255,
    0,
    0,
    0,
    0,
  ]);
});

Deno.test("fitImage() gives a grey image three channels for an RGB net, and rounds to bytes", () => {
  const out = fitImage(img([0, 1, 2, 3], 2, 2, 1), { shape: [1, 1, 3] }); // mean 1.5 -> 2
  assert.deepEqual([...out], [2, 2, 2]);
});

Deno.test("imageToInput() normalizes by the training stats: (v - mean) / std per channel", () => {
  const stats = { mean: [100, 50, 0], std: [10, 25, 255] };
  const { input, bytes } = imageToInput(img([110, 0, 255], 1, 1, 3), { shape: [1, 1, 3], stats });
  assert.deepEqual([...bytes], [110, 0, 255]);
  assert.deepEqual([...input], [1, -2, 1]);
  // the stats of training images come from channelStats: the same function the notebooks use
  const s = channelStats(new Uint8Array([0, 200]), 1);
  const x = imageToInput(img([200], 1, 1, 1), { shape: [1, 1, 1], stats: s }).input;
  assert.deepEqual([...x], [1]); // (200 - 100) / 100
});

Deno.test("fitImage() refuses a margin that leaves no room and a 2-channel input", () => {
  assert.throws(() => fitImage(img([0], 1, 1, 1), { shape: [4, 4, 1], margin: 2 }), /margin 2/);
  assert.throws(() => fitImage(img([0], 1, 1, 1), { shape: [4, 4, 2] }), /1 or 3 channels/);
  assert.throws(
    () => resizeArea({ data: new Float64Array(4), shape: [2, 1, 2, 1] }, 1, 1),
    /one image/,
  );
});

Deno.test("fitImage() with stretch takes a photo of grey paper to MNIST's black background and bright strokes", () => {
  // paper #a9a59c in room light (BT.601 grey 165.17) with ink #4a4742 (grey 71.33): inverted, the
  // paper is 89.83 and the ink 183.67; stretched, the paper is 0 and the ink 255, as MNIST's digits are
  const grey = (r: number, g: number, b: number) => [r, g, b];
  const paper = grey(0xa9, 0xa5, 0x9c), ink = grey(0x4a, 0x47, 0x42);
  const rgb = Array.from({ length: 9 }, (_, p) => (p === 4 ? ink : paper)).flat();
  const plain = fitImage(img(rgb, 3, 3, 3), { shape: [3, 3, 1], invert: "auto" });
  assert.deepEqual([plain[0], plain[4]], [90, 184]); // rounded
  const out = fitImage(img(rgb, 3, 3, 3), { shape: [3, 3, 1], invert: "auto", stretch: true });
  assert.deepEqual([...out], [0, 0, 0, 0, 255, 0, 0, 0, 0]);
  // an image already black and white is left as it is
  const mnist = img([0, 0, 0, 0, 255, 0, 0, 0, 0], 3, 3, 1);
  assert.deepEqual([...fitImage(mnist, { shape: [3, 3, 1], stretch: true })], [...mnist.data]);
});
