import assert from "node:assert/strict";
import { randLabels, randn, Rng } from "convkit/random.ts";
import { fanIn, he } from "convkit/init.ts";

Deno.test("Rng gives the same stream for the same seed and different streams for different seeds", () => {
  const a = new Rng(5), b = new Rng(5), c = new Rng(6);
  const sa = Array.from({ length: 10 }, () => a.uniform());
  assert.deepEqual(sa, Array.from({ length: 10 }, () => b.uniform()));
  assert.notDeepEqual(sa, Array.from({ length: 10 }, () => c.uniform()));
});

Deno.test("Rng.normal() has mean 0 and variance 1 over 200,000 draws", () => {
  const x = randn([200_000], new Rng(3));
  const mean = x.data.reduce((s, v) => s + v, 0) / x.data.length;
  const variance = x.data.reduce((s, v) => s + (v - mean) ** 2, 0) / x.data.length;
  // standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.015, `variance ${variance}`);
});

Deno.test("Rng.permutation() holds every index once; int() stays in range", () => {
  const p = new Rng(9).permutation(1000);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const y = randLabels(5000, 10, new Rng(2));
  assert.ok(y.every((v) => v >= 0 && v < 10));
  assert.equal(new Set(y).size, 10);
  assert.throws(() => new Rng(1.5), RangeError);
});

Deno.test("he() draws with standard deviation sqrt(2 / fan_in), fan_in = F*F*C_in", () => {
  assert.equal(fanIn([5, 5, 3, 6]), 75);
  assert.equal(fanIn([4096, 1000]), 4096);
  const w = he([3, 3, 32, 64], new Rng(0));
  const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.data.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / 288) - 1) < 0.02, `std ${std}`);
});
