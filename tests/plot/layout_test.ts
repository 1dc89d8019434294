import assert from "node:assert/strict";
import { barChart, heatmap, lineChart } from "convkit/plot/charts.ts";
import { FLOW_MAX_PNG_WIDTH, volumeFlow } from "convkit/plot/diagrams.ts";
import { filterGrid, imageGrid, tile } from "convkit/plot/images.ts";
import { activationMapsInteractive } from "convkit/plot/plotly.ts";
import { randn, Rng } from "convkit/random.ts";

// Figures at awkward sizes: titles never clipped, grids laid out for any filter count and depth, bar
// labels with room or turned, epochs numbered as tables number them, compressed scales said.

const rng = new Rng(14);

Deno.test("imageGrid() is wide enough for its title, even over one tiny image", async () => {
  const title = "six 5x5 filters of the first layer, after training";
  const fig = await imageGrid([tile([0, 1, 1, 0], 2, 2, 1)], { title, scale: 4 });
  assert.ok(
    fig.size.width >= title.length * 8,
    `${fig.size.width} px for ${title.length} characters`,
  );
});

Deno.test("filterGrid() lays out single-channel filters as a grid, not a strip", async () => {
  for (const k of [1, 6, 16, 20]) {
    const fig = await filterGrid(randn([5, 5, 1, k], rng), { title: "C1" });
    const ratio = fig.size.width / fig.size.height;
    assert.ok(ratio > 0.4 && ratio < 6, `k=${k}: ${fig.size.width}x${fig.size.height}`);
  }
  const deep = await filterGrid(randn([3, 3, 16, 4], rng)); // one row per filter, 8 channels shown
  assert.ok(deep.size.width > deep.size.height);
});

Deno.test("barChart() gives every category label its room, or turns the labels", async () => {
  const names = ["ResNet-18", "ResNet-34", "ResNet-50", "ResNet-101", "ResNet-152", "VGG-16"];
  for (const n of [2, 6, 12, 30]) {
    const rows = Array.from(
      { length: n },
      (_, i) => ({ model: `${names[i % 6]}-${i}`, params: i + 1 }),
    );
    const spec = (await barChart(rows, "model", "params")).vegaLite!;
    const longest = Math.max(...rows.map((r) => r.model.length));
    const perBar = spec.width / n;
    const angle = spec.encoding.x.axis.labelAngle;
    assert.ok(perBar >= longest * 7 || angle !== 0, `n=${n}: ${perBar} px a bar, angle ${angle}`);
  }
  const log = (await barChart([{ a: "x", b: 10 }], "a", "b", { logScale: true })).vegaLite!;
  assert.match(log.encoding.y.title, /log scale/);
});

Deno.test("lineChart() numbers points from 1, with whole-number ticks, as the epoch tables do", async () => {
  const spec = (await lineChart({ "train accuracy": [0.5, 0.7, 0.8] }, { xTitle: "epoch" }))
    .vegaLite!;
  assert.deepEqual(spec.data.values.map((v: { x: number }) => v.x), [1, 2, 3]);
  assert.equal(spec.encoding.x.axis.tickMinStep, 1);
});

Deno.test("volumeFlow() leaves room for its note that sizes are drawn on a log scale", async () => {
  const fig = await volumeFlow([{ h: 224, w: 224, d: 64 }, { h: 112, w: 112, d: 64 }]);
  assert.ok(fig.size.width >= 280);
});

Deno.test("volumeFlow() wraps a long network onto rows instead of a strip whose labels shrink", async () => {
  // ResNet-50's 12 volumes in one row were ~2,600 px: shown ~900 px wide, the 12 px labels became ~4 px
  const steps = Array.from(
    { length: 12 },
    (_, i) => ({ h: 224 >> (i % 6), w: 224 >> (i % 6), d: 64 << (i % 6), label: `stage ${i}` }),
  );
  const fig = await volumeFlow(steps, { title: "ResNet-50" });
  assert.ok(fig.size.width <= FLOW_MAX_PNG_WIDTH, `${fig.size.width} px wide`);
  const oneRow = await volumeFlow(steps.slice(0, 2), { title: "ResNet-50" });
  assert.ok(fig.size.height >= 2 * oneRow.size.height - 30, `${fig.size.height} px high: rows`);
  // a long title widens the figure rather than being clipped
  const title = "ResNet-50: 224 -> 56 early, then stages of bottleneck blocks";
  assert.ok(
    (await volumeFlow(steps.slice(0, 1), { title })).size.width >= title.length * 8,
  );
});

Deno.test("heatmap() shares a colour scale when given one domain, and outlines pooling windows", async () => {
  const x = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]];
  const spec = (await heatmap(x, { domain: [0, 8], windows: { size: 2, stride: 2 } })).vegaLite!;
  assert.deepEqual(spec.layer[0].encoding.color.scale.domain, [0, 8]);
  // the lecture's 2x2 windows at stride 2: four, at rows/cols 0-1 and 2-3
  const outlines = spec.layer[1].data.values;
  assert.deepEqual(
    outlines.map((o: Record<string, string>) => `${o.r0}${o.r1}${o.c0}${o.c1}`),
    ["0101", "0123", "2301", "2323"],
  );
  // 3x3 windows at stride 2 on 5x5: rows/cols 0-2 and 2-4 (overlapping, as in AlexNet's pooling)
  const five = Array.from({ length: 5 }, () => [0, 1, 2, 3, 4]);
  const overlap = (await heatmap(five, { windows: { size: 3, stride: 2 } })).vegaLite!;
  assert.equal(overlap.layer[1].data.values.length, 4);
  assert.equal(overlap.layer[1].data.values[3].c1, "4");
  await assert.rejects(() => heatmap(x, { domain: [3, 3] }), /low < high/);
  await assert.rejects(() => heatmap(x, { windows: { size: 0, stride: 2 } }), /whole size/);
});

Deno.test("activationMapsInteractive() with sharedScale gives every map and its picture one range", async () => {
  // map 0 spans 0..2, map 1 is float32 noise (3e-8): shared, the noise must not reach full contrast
  const x = { data: new Float64Array([0, 0, 2, 3e-8, 1, 1e-8, 0.5, 2e-8]), shape: [1, 2, 2, 2] };
  const fig = await activationMapsInteractive(x, { sharedScale: true });
  for (const trace of fig.plotly!.data) {
    assert.deepEqual([trace.zmin, trace.zmax], [0, 2]);
  }
  const own = await activationMapsInteractive(x);
  assert.equal(own.plotly!.data[1].zmax, undefined); // each map its own range, as plotly does
});
