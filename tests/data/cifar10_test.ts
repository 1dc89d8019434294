import assert from "node:assert/strict";
import { batches, channelStats, makeBatch } from "convkit/data/batch.ts";
import {
  checkCifar10Archive,
  installCifar10,
  loadCifar10,
  recordsToSplit,
} from "convkit/data/cifar10.ts";
import { Rng } from "convkit/random.ts";

// The shared CIFAR-10 copy beside the checkout (a rebuild of the official archive; see its README).
const shared = new URL("../../../shared/datasets/cifar-10-binary.tar.gz", import.meta.url).pathname;
const SHARED_SHA256 = "05d1ea3b29263ab6efc5f8eed5b4bc52d44275dd9332801e706b96c9f0814dc9";
let haveShared = false;
try {
  haveShared = Deno.statSync(shared).isFile;
} catch { /* not on this machine */ }

Deno.test("recordsToSplit() reorders R, G, B planes into NHWC bytes", () => {
  const rec = new Uint8Array(3073);
  rec[0] = 3;
  rec[1 + 5] = 10; // red of pixel 5
  rec[1 + 1024 + 5] = 20; // green of pixel 5
  rec[1 + 2048 + 5] = 30; // blue of pixel 5
  const s = recordsToSplit(rec);
  assert.equal(s.labels[0], 3);
  assert.deepEqual([...s.images.subarray(15, 18)], [10, 20, 30]);
  assert.throws(() => recordsToSplit(new Uint8Array(3072)), RangeError);
});

Deno.test("checkCifar10Archive() names what is wrong with an archive that is not CIFAR-10", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/x.tar.gz`, "not an archive");
  const r = await checkCifar10Archive(`${dir}/x.tar.gz`);
  assert.equal(r.ok, false);
  assert.match(r.problems[0], /not a readable \.tar\.gz/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name:
    "installCifar10({ from }) installs the shared archive into a cache, as a checked rebuild, and loads it",
  ignore: !haveShared,
  fn: async () => {
    const cacheDir = await Deno.makeTempDir();
    try {
      const r = await installCifar10({ from: shared, cacheDir });
      assert.equal(r.official, false);
      assert.equal(r.sha256, SHARED_SHA256);
      assert.deepEqual([...Deno.readDirSync(cacheDir)].map((e) => e.name), [
        "cifar-10-binary.tar.gz",
      ]);
      const test = await loadCifar10("test", { archive: r.path, limit: 500 });
      assert.equal(test.n, 500);
      assert.equal(test.images.length, 500 * 3072);
      assert.ok(test.labels.every((l) => l < 10));
      assert.equal(new Set(test.labels).size, 10);
      assert.equal(test.classNames[3], "cat");
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test("loadCifar10() without an archive says how to install one", async () => {
  await assert.rejects(
    () => loadCifar10("test", { archive: "/nonexistent/cifar.tar.gz" }),
    /NotFound|No such file/,
  );
});

Deno.test("makeBatch() normalizes per channel and crops from zero padding, seeded", () => {
  // two 2x2 RGB images
  const images = new Uint8Array(2 * 2 * 2 * 3).map((_, i) => i * 10);
  const stats = channelStats(images, 3);
  const b = makeBatch(images, [0, 1], { shape: [2, 2, 3], stats }) as Float64Array;
  for (let c = 0; c < 3; c++) {
    const vals = [...b].filter((_, i) => i % 3 === c);
    const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
    const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length;
    assert.ok(Math.abs(mean) < 1e-12 && Math.abs(variance - 1) < 1e-12);
  }
  const a1 = makeBatch(images, [0, 1], {
    shape: [2, 2, 3],
    cropPad: 1,
    flip: true,
    rng: new Rng(5),
  });
  const a2 = makeBatch(images, [0, 1], {
    shape: [2, 2, 3],
    cropPad: 1,
    flip: true,
    rng: new Rng(5),
  });
  assert.deepEqual(a1, a2); // the same seed, the same augmentation
  assert.throws(() => makeBatch(images, [0], { shape: [2, 2, 3], flip: true }), /seeded rng/);
  assert.throws(() => makeBatch(images, [2], { shape: [2, 2, 3] }), RangeError);
});

Deno.test("makeBatch() crops: with pad 1 every image is its shifted copy with zeros where it left the frame", () => {
  // one 3x3 grey image 1..9; count how often each shift appears over many draws
  const img = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const rng = new Rng(2);
  const seen = new Set<string>();
  for (let t = 0; t < 200; t++) {
    const b = makeBatch(img, [0], { shape: [3, 3, 1], cropPad: 1, rng, float32: true });
    seen.add([...b].map((v) => Math.round(v * 255)).join(","));
  }
  assert.equal(seen.size, 9); // 3 x 3 shifts
  assert.ok(seen.has("5,6,0,8,9,0,0,0,0")); // shifted up-left by one
});

Deno.test("batches() covers every index once per epoch, in a seeded order", () => {
  const a = batches(1000, 32, new Rng(3)), b = batches(1000, 32, new Rng(3));
  assert.deepEqual(a, b);
  assert.equal(a.length, 32);
  assert.equal(batches(1000, 32, new Rng(3), { dropLast: true }).length, 31);
});
