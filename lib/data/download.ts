/**
 * Verified downloads: stream a URL to `<dest>.part-<pid>`, hash it on the way (SHA-256), check the size and
 * the hash, and only then rename it to `dest`. On a network error, a truncated transfer or a wrong
 * checksum, the partial file is removed and an error says what happened: nothing half-written is left.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A download or install that did not complete; `dest` was not written. */
export class DownloadError extends Error {
  constructor(message: string, readonly kind: "network" | "truncated" | "checksum" | "http") {
    super(message);
    this.name = "DownloadError";
  }
}

/** Called as bytes arrive: bytes so far and the expected total (when known). */
export type ProgressFn = (bytes: number, total: number | undefined) => void;

/** What to fetch and how to check it. */
export interface VerifiedSource {
  url: string;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
  /** Size in bytes, when known: a shorter transfer is a truncation. */
  size?: number;
}

async function tmpPath(dest: string): Promise<string> {
  const dir = dest.slice(0, dest.lastIndexOf("/")) || ".";
  await Deno.mkdir(dir, { recursive: true });
  return `${dest}.part-${Deno.pid}`;
}

/** Streams `body` to a temporary file next to `dest`, hashing it; returns the temporary path, size and hash. */
async function streamToTemp(
  body: ReadableStream<Uint8Array>,
  dest: string,
  total: number | undefined,
  onProgress?: ProgressFn,
): Promise<{ tmp: string; bytes: number; sha256: string }> {
  const tmp = await tmpPath(dest);
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  const writer = file.writable.getWriter();
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk);
      await writer.write(chunk);
      bytes += chunk.length;
      onProgress?.(bytes, total);
    }
    await writer.close();
  } catch (e) {
    await writer.abort().catch(() => {});
    await Deno.remove(tmp).catch(() => {});
    throw new DownloadError(
      `the transfer broke off after ${bytes} bytes (${(e as Error).message}); nothing was written`,
      "network",
    );
  }
  return { tmp, bytes, sha256: hash.digest("hex") };
}

async function finish(
  tmp: string,
  dest: string,
  got: { bytes: number; sha256: string },
  src: VerifiedSource,
) {
  if (src.size !== undefined && got.bytes !== src.size) {
    await Deno.remove(tmp).catch(() => {});
    throw new DownloadError(
      `${src.url}: got ${got.bytes} bytes, expected ${src.size}: the transfer was truncated; nothing was written`,
      "truncated",
    );
  }
  if (got.sha256 !== src.sha256) {
    await Deno.remove(tmp).catch(() => {});
    throw new DownloadError(
      `${src.url}: SHA-256 ${got.sha256} does not match the pinned ${src.sha256}: the file is corrupt or not the one ` +
        `expected; nothing was written`,
      "checksum",
    );
  }
  await Deno.rename(tmp, dest);
}

/**
 * Downloads `src.url` to `dest`, verified. Resolves when `dest` holds the whole, checked file.
 *
 * @throws {DownloadError} `network` (unreachable, broken off), `http` (an error status), `truncated`, `checksum`
 */
export async function downloadVerified(
  src: VerifiedSource,
  dest: string,
  opts: { onProgress?: ProgressFn; signal?: AbortSignal } = {},
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(src.url, { signal: opts.signal });
  } catch (e) {
    throw new DownloadError(
      `could not reach ${src.url}: ${(e as Error).message}; nothing was written`,
      "network",
    );
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(
      `${src.url} answered ${res.status} ${res.statusText}; nothing was written`,
      "http",
    );
  }
  const length = Number(res.headers.get("content-length") ?? NaN);
  const total = Number.isFinite(length) ? length : src.size;
  const got = await streamToTemp(res.body, dest, total, opts.onProgress);
  if (Number.isFinite(length) && got.bytes !== length) {
    await Deno.remove(got.tmp).catch(() => {});
    throw new DownloadError(
      `${src.url}: got ${got.bytes} of ${length} bytes: truncated; nothing was written`,
      "truncated",
    );
  }
  await finish(got.tmp, dest, got, src);
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Copies a local file to `dest` atomically (temporary file, then rename), returning its SHA-256.
 * Verification is the caller's: a local copy may be a legitimate rebuild of the official file.
 */
export async function installLocal(
  path: string,
  dest: string,
  onProgress?: ProgressFn,
): Promise<string> {
  const size = (await Deno.stat(path)).size;
  const file = await Deno.open(path);
  const got = await streamToTemp(file.readable, dest, size, onProgress);
  await Deno.rename(got.tmp, dest);
  return got.sha256;
}
