import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "convkit/display.ts";
import {
  barChart,
  confusionCounts,
  confusionMatrix,
  heatmap,
  lineChart,
} from "convkit/plot/charts.ts";
import { slidingWindow, volumeFlow } from "convkit/plot/diagrams.ts";
import { PLOTLY_MIME, VEGALITE_MIME } from "convkit/plot/figure.ts";
import { activationMaps, filterGrid, imageGrid, showImages, tile } from "convkit/plot/images.ts";
import { LiveChart, Progress } from "convkit/plot/live.ts";
import { activationMapsInteractive, volumeWithFilter } from "convkit/plot/plotly.ts";
import { encodePng } from "convkit/plot/png.ts";
import { randn, Rng } from "convkit/random.ts";
import { ShapeError } from "convkit/shape.ts";
import { tensor, zeros } from "convkit/tensor.ts";
import { decodePng, pixel } from "./png_decode.ts";

function b64ToBytes(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

Deno.test("encodePng() round-trips RGBA pixels through an independent decoder", async () => {
  const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 40]);
  const d = await decodePng(await encodePng(rgba, 2, 2));
  assert.deepEqual([d.width, d.height], [2, 2]);
  assert.deepEqual([...d.rgba], [...rgba]);
  await assert.rejects(() => encodePng(rgba, 3, 2), RangeError);
});

Deno.test("tile() maps [min, max] linearly to [0, 255]", () => {
  const t = tile([0, 0.5, 1, 0.25], 2, 2, 1);
  assert.deepEqual([...t.rgba.filter((_, i) => i % 4 === 0)], [0, 128, 255, 64]);
  const rgb = tile([-1, 0, 1], 1, 1, 3, { min: -1, max: 1 });
  assert.deepEqual([...rgb.rgba], [0, 128, 255, 255]);
});

Deno.test("charts carry a vega-lite spec, a decodable PNG, and no text/html", async () => {
  const figs = [
    await barChart(
      [{ layer: "conv1", params: 456 }, { layer: "fc", params: 1610 }],
      "layer",
      "params",
    ),
    await lineChart({ loss: [2.3, 1.9, 1.5] }),
    await heatmap([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]),
  ];
  for (const fig of figs) {
    const bundle = fig[JUPYTER_DISPLAY]();
    assert.deepEqual(Object.keys(bundle).sort(), [VEGALITE_MIME, "image/png", "text/plain"].sort());
    const d = await decodePng(b64ToBytes(bundle["image/png"] as string));
    assert.ok(d.width > 100 && d.height > 80, `${fig.title}: ${d.width}x${d.height}`);
    assert.deepEqual(pixel(d, 0, 0), [255, 255, 255, 255]); // white background
  }
  const values = figs[2].vegaLite!.data.values as { row: string; col: string; value: number }[];
  assert.equal(values.find((v) => v.row === "1" && v.col === "3")?.value, 8);
});

Deno.test("confusionCounts() counts (true, predicted) pairs; confusionMatrix() titles the accuracy", async () => {
  assert.deepEqual(confusionCounts([0, 1, 2, 2, 1], [0, 1, 2, 1, 1], 3), [[1, 0, 0], [0, 2, 0], [
    0,
    1,
    1,
  ]]);
  assert.throws(() => confusionCounts([0, 3], [0, 1], 3), RangeError);
  const fig = await confusionMatrix([0, 1, 2, 2, 1], [0, 1, 2, 1, 1], ["cat", "dog", "ship"]);
  assert.match(fig.title, /accuracy 80\.0%/);
});

Deno.test("filterGrid() shows RGB filters as colour patches: a pure-red filter is red", async () => {
  // one 2x2x3 filter: red channel 1, green and blue 0 -> after min-max scaling, (255, 0, 0)
  const w = tensor([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0], [2, 2, 3, 1]);
  const fig = await filterGrid(w, { scale: 20, title: "red" });
  const d = await decodePng(fig.png);
  const reds = [];
  for (let y = 0; y < d.height; y++) {
    for (let x = 0; x < d.width; x++) {
      const [r, g, b] = pixel(d, x, y);
      if (r === 255 && g === 0 && b === 0) reds.push(1);
    }
  }
  assert.ok(reds.length >= 40 * 40 * 0.9, `${reds.length} red pixels`); // a 40x40 patch
  const deep = await filterGrid(randn([3, 3, 16, 4], new Rng(0)));
  assert.match(deep.title, /first 8 channels/);
});

Deno.test("activationMaps() and showImages() check their input", async () => {
  const fig = await activationMaps(randn([2, 8, 8, 5], new Rng(1)), { index: 1 });
  assert.match(fig.title, /5 activation maps of 8x8/);
  await assert.rejects(() => activationMaps(zeros([1, 8, 8, 5]), { index: 1 }), RangeError);
  await assert.rejects(() => activationMaps(zeros([8, 8, 5])), ShapeError);
  await assert.rejects(() => showImages(zeros([1, 4, 4, 2])), RangeError);
  const imgs = await showImages(tensor(new Array(2 * 4 * 4 * 3).fill(200), [2, 4, 4, 3]), [
    "cat",
    "dog",
  ]);
  assert.ok(imgs.size.width > 0);
  await assert.rejects(() => imageGrid([]), RangeError);
});

Deno.test("slidingWindow() draws (N - F + 2P) / S + 1 panels and refuses strides that do not fit", async () => {
  const fig = await slidingWindow({ n: 7, f: 3, stride: 2 });
  assert.match(fig.title, /\(7 - 3 \+ 0\) \/ 2 \+ 1 = 3, so 3x3 outputs/);
  const padded = await slidingWindow({ n: 7, f: 3, stride: 1, pad: 1 });
  assert.match(padded.title, /= 7, so 7x7 outputs \(first 25 shown\)/);
  await assert.rejects(() => slidingWindow({ n: 7, f: 3, stride: 3 }), ShapeError);
});

Deno.test("volumeFlow() labels each volume; plotly figures carry traces and a PNG fallback", async () => {
  const flow = await volumeFlow([{ h: 32, w: 32, d: 3 }, { h: 28, w: 28, d: 6 }]);
  assert.equal(flow.title, "32x32x3 -> 28x28x6");
  const maps = await activationMapsInteractive(randn([1, 6, 6, 4], new Rng(2)));
  const bundle = maps.bundle();
  assert.ok(PLOTLY_MIME in bundle && "image/png" in bundle);
  assert.equal(maps.plotly!.data.length, 4);
  const vol = await volumeWithFilter({ h: 32, w: 32, d: 3, f: 5, stride: 1 });
  // deno-lint-ignore no-explicit-any
  assert.equal((vol.plotly!.layout!.sliders as any)[0].steps.length, 28);
  await decodePng(vol.png);
});

Deno.test("Progress.text() shows the fraction, counts and a note; LiveChart keeps its series", async () => {
  const p = new Progress(50, "epoch 1");
  assert.match(
    p.text(25, "loss 1.23"),
    /^epoch 1 █{15}░{15} {2}50% 25\/50 \[\d+s<\d+s\] loss 1\.23$/,
  );
  assert.throws(() => new Progress(0), RangeError);
  const live = new LiveChart({ everyMs: 1e9 });
  await live.push({ loss: 2.3, acc: 0.1 });
  await live.push({ loss: 1.9, acc: 0.3 });
  assert.deepEqual(live.series, { loss: [2.3, 1.9], acc: [0.1, 0.3] });
  assert.equal((await live.figure()).vegaLite!.data.values.length, 4);
});
