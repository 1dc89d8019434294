import assert from "node:assert/strict";
import { loadMnist, readIdx } from "convkit/data/mnist.ts";

Deno.test("loadMnist() holds the package's 10,000 digits: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978", () => {
  const { train, test } = loadMnist({ seed: 3 });
  const counts = new Array(10).fill(0);
  for (const s of [train, test]) for (let i = 0; i < s.n; i++) counts[s.labels[i]]++;
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  assert.equal(test.n, 2000);
  // padding: the 2-pixel border of every image is black
  const side = 32;
  for (let i = 0; i < 50; i++) {
    for (let c = 0; c < side; c++) assert.equal(train.images[i * side * side + c], 0);
  }
});

Deno.test("loadMnist() splits reproducibly with its seed, differently with another", () => {
  const a = loadMnist({ seed: 1 }).test.labels,
    b = loadMnist({ seed: 1 }).test.labels,
    c = loadMnist({ seed: 2 }).test.labels;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("readIdx() parses a 2x2x2 image file and refuses wrong magic and sizes", () => {
  const idx = readIdx(
    new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]),
  );
  assert.deepEqual(idx.dims, [2, 2, 2]);
  assert.deepEqual([...idx.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => readIdx(new Uint8Array([1, 0, 8, 1])), /bad magic/);
  assert.throws(() => readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 1])), RangeError);
});
