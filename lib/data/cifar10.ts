/**
 * CIFAR-10 in the official "binary version" layout: `cifar-10-batches-bin/*.bin`, each record one label
 * byte and 3072 pixel bytes (1024 red, then green, then blue, row-major). This module downloads the
 * official archive (pinned URL, SHA-256 and size) or installs a local one into the cache, and loads
 * splits as bytes: all 60,000 images take about 184 MB, converted to floats one batch at a time.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { downloadVerified, installLocal, type ProgressFn } from "./download.ts";
import { readTarMembers } from "./tar.ts";

/** The official archive, as published on the CIFAR-10 home page. */
export const CIFAR10_SOURCE = {
  url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
  sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
  size: 170_052_171,
} as const;

/** The batch files of the binary version and their record counts. */
export const CIFAR10_BATCHES = {
  train: [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
  ],
  test: ["test_batch.bin"],
} as const;

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

/** Whether a tar member is the file `file` (at the top or in a folder such as cifar-10-batches-bin/). */
function isMember(name: string, file: string): boolean {
  return name === file || name.endsWith(`/${file}`);
}

/** The kit's dataset cache: `$CONVKIT_DATA`, else `datasets/cache/` in the kit (git-ignored). */
export function dataCacheDir(): string {
  return Deno.env.get("CONVKIT_DATA") ?? new URL("../../datasets/cache", import.meta.url).pathname;
}

/**
 * Where a CIFAR-10 binary archive is, if any: `$CONVKIT_CIFAR10`, then the cache, then
 * `../shared/datasets/` beside the kit's checkout.
 */
export function findCifar10Archive(): string | undefined {
  const root = new URL("../../", import.meta.url).pathname;
  const candidates = [
    Deno.env.get("CONVKIT_CIFAR10"),
    `${dataCacheDir()}/cifar-10-binary.tar.gz`,
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

/** What a CIFAR-10 member may hold: a batch file its 10,000 records, anything else 64 KiB. */
function cifar10MemberBytes(name: string): number {
  return name.endsWith(".bin") ? 10_000 * RECORD : 64 * 1024;
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
    (name) => isMember(name, batch),
    { maxBytes: cifar10MemberBytes },
  );
  const bytes = [...members.values()][0];
  if (!bytes) throw new Error(`readCifar10Batch: ${archive} has no ${batch}`);
  return decodeCifar10(bytes, limit);
}

/** What `checkCifar10Archive` found. */
export interface Cifar10Check {
  ok: boolean;
  problems: string[];
}

/**
 * Checks that a `.tar.gz` has the binary version's layout: the six batch files, each 10,000 records of 3073
 * bytes with labels 0 .. 9, and `batches.meta.txt`.
 */
export async function checkCifar10Archive(path: string): Promise<Cifar10Check> {
  const wanted = [...CIFAR10_BATCHES.train, ...CIFAR10_BATCHES.test, "batches.meta.txt"];
  const problems: string[] = [];
  let members: Map<string, Uint8Array>;
  try {
    const file = await Deno.open(path);
    members = await readTarMembers(
      file.readable,
      (n) => wanted.some((w) => isMember(n, w)),
      { maxBytes: cifar10MemberBytes },
    );
  } catch (e) {
    return { ok: false, problems: [`not a readable .tar.gz: ${(e as Error).message}`] };
  }
  const byName = new Map([...members].map(([k, v]) => [k.split("/").pop()!, v]));
  for (const w of wanted) {
    const bytes = byName.get(w);
    if (!bytes) {
      problems.push(`${w} is missing`);
      continue;
    }
    if (w.endsWith(".bin")) {
      if (bytes.length !== 10_000 * RECORD) {
        problems.push(`${w} has ${bytes.length} bytes, not 10,000 records of ${RECORD}`);
      } else {
        for (let i = 0; i < 10_000; i++) {
          if (bytes[i * RECORD] > 9) {
            problems.push(`${w} record ${i} has label ${bytes[i * RECORD]}`);
            break;
          }
        }
      }
    }
  }
  return { ok: problems.length === 0, problems };
}

/**
 * Puts a CIFAR-10 archive into the cache: the official one, downloaded and verified, or (`from`) a local
 * archive, whose layout is checked and which is reported as official or not by its SHA-256.
 * Returns the cached path and whether it is the official file.
 *
 * @throws {DownloadError} when a download fails (nothing is left in the cache)
 * @throws {Error} when a local archive does not have the binary version's layout
 */
export async function installCifar10(
  opts: {
    from?: string;
    onProgress?: ProgressFn;
    cacheDir?: string;
    source?: typeof CIFAR10_SOURCE;
  } = {},
): Promise<{ path: string; official: boolean; sha256: string }> {
  const dest = `${opts.cacheDir ?? dataCacheDir()}/cifar-10-binary.tar.gz`;
  const source = opts.source ?? CIFAR10_SOURCE;
  if (opts.from) {
    const check = await checkCifar10Archive(opts.from);
    if (!check.ok) {
      throw new Error(
        `${opts.from} is not a CIFAR-10 binary archive: ${check.problems.join("; ")}`,
      );
    }
    const sha256 = await installLocal(opts.from, dest, opts.onProgress);
    return { path: dest, official: sha256 === source.sha256, sha256 };
  }
  await downloadVerified(source, dest, { onProgress: opts.onProgress });
  return { path: dest, official: true, sha256: source.sha256 };
}

/** A split held as bytes: images NHWC `[n, 32, 32, 3]` (0..255) and labels. */
export interface Cifar10Split {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  classNames: readonly string[];
}

/** Reorders binary-version records (planes) into NHWC bytes and labels. */
export function recordsToSplit(bytes: Uint8Array, limit = Infinity): Cifar10Split {
  if (bytes.length % RECORD !== 0) {
    throw new RangeError(
      `recordsToSplit: ${bytes.length} bytes are not whole records of ${RECORD}`,
    );
  }
  const n = Math.min(bytes.length / RECORD, limit);
  const images = new Uint8Array(n * 3072), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * RECORD;
    labels[i] = bytes[r];
    if (labels[i] > 9) {
      throw new RangeError(`recordsToSplit: record ${i} has label ${labels[i]}, outside 0 .. 9`);
    }
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) images[i * 3072 + p * 3 + c] = bytes[r + 1 + c * 1024 + p];
    }
  }
  return { images, labels, n, classNames: CIFAR10_CLASSES };
}

/**
 * Loads the train (50,000) or test (10,000) split from an archive (default: `findCifar10Archive()`).
 *
 * @throws {Error} naming the command that installs the dataset, when there is none
 */
export async function loadCifar10(
  split: "train" | "test",
  opts: { archive?: string; limit?: number } = {},
): Promise<Cifar10Split> {
  const archive = opts.archive ?? findCifar10Archive();
  if (!archive) {
    throw new Error(
      "CIFAR-10 is not installed: run `deno task data cifar10` (download) or `deno task data cifar10 --from PATH`",
    );
  }
  const names = CIFAR10_BATCHES[split];
  const file = await Deno.open(archive);
  const members = await readTarMembers(
    file.readable,
    (n) => names.some((w) => isMember(n, w)),
    { maxBytes: cifar10MemberBytes },
  );
  const parts = names.map((w) => [...members].find(([k]) => isMember(k, w))?.[1]);
  if (parts.some((p) => !p)) {
    throw new Error(`${archive} lacks ${names.filter((_, i) => !parts[i]).join(", ")}`);
  }
  const all = new Uint8Array(parts.reduce((s, p) => s + p!.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p!, off);
    off += p!.length;
  }
  return recordsToSplit(all, opts.limit);
}
