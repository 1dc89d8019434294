/**
 * CIFAR-10 in the official "binary version" layout: `cifar-10-batches-bin/*.bin`, each record one label
 * byte and 3072 pixel bytes (1024 red, then green, then blue, row-major). This module finds an archive
 * already on disk and reads batches from it; downloading is the data issue's work.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { readTarMembers } from "./tar.ts";

/** CIFAR-10's class names, in label order. */
export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
] as const;

const RECORD = 1 + 3 * 1024;

/**
 * Where a CIFAR-10 binary archive is, if any: `$CONVKIT_CIFAR10`, then `datasets/cache/` in the kit, then
 * `../shared/datasets/` beside the kit's checkout.
 */
export function findCifar10Archive(): string | undefined {
  const root = new URL("../../", import.meta.url).pathname;
  const candidates = [
    Deno.env.get("CONVKIT_CIFAR10"),
    `${root}datasets/cache/cifar-10-binary.tar.gz`,
    `${root}../shared/datasets/cifar-10-binary.tar.gz`,
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* not there */ }
  }
  return undefined;
}

/** Images `[N, 32, 32, 3]` with values 0..255 (NHWC), and their labels. */
export interface LabelledImages {
  x: Tensor;
  y: Int32Array;
}

/**
 * Decodes binary-version records (label byte + R, G, B planes) into NHWC images.
 *
 * @example
 * ```ts
 * import { decodeCifar10 } from "convkit/data/cifar10.ts";
 * import assert from "node:assert/strict";
 * const rec = new Uint8Array(3073);
 * rec[0] = 7; // horse
 * rec[1] = 255; // red of pixel (0, 0)
 * rec[1 + 1024 + 1] = 9; // green of pixel (0, 1)
 * const { x, y } = decodeCifar10(rec);
 * assert.equal(y[0], 7);
 * assert.deepEqual([x.data[0], x.data[1], x.data[2]], [255, 0, 0]);
 * assert.equal(x.data[3 + 1], 9);
 * ```
 */
export function decodeCifar10(bytes: Uint8Array, limit = Infinity): LabelledImages {
  if (bytes.length % RECORD !== 0) {
    throw new RangeError(`decodeCifar10: ${bytes.length} bytes are not whole records of ${RECORD}`);
  }
  const n = Math.min(bytes.length / RECORD, limit);
  const x = new Float64Array(n * 3072), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * RECORD;
    y[i] = bytes[r];
    if (y[i] > 9) {
      throw new RangeError(`decodeCifar10: record ${i} has label ${y[i]}, outside 0 .. 9`);
    }
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) x[i * 3072 + p * 3 + c] = bytes[r + 1 + c * 1024 + p];
    }
  }
  return { x: { data: x, shape: [n, 32, 32, 3] }, y };
}

/** Reads the first `limit` images of one batch file (e.g. `test_batch.bin`) from a `.tar.gz` archive. */
export async function readCifar10Batch(
  archive: string,
  batch = "test_batch.bin",
  limit = Infinity,
): Promise<LabelledImages> {
  const file = await Deno.open(archive);
  const members = await readTarMembers(
    file.readable,
    (name) => name.endsWith(`/${batch}`) || name === batch,
  );
  const bytes = [...members.values()][0];
  if (!bytes) throw new Error(`readCifar10Batch: ${archive} has no ${batch}`);
  return decodeCifar10(bytes, limit);
}
