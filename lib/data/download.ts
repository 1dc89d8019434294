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

/** Whether this runs in Deno's Jupyter kernel (reading `Deno.jupyter` elsewhere throws). */
function inKernel(): boolean {
  try {
    return typeof (Deno as unknown as { jupyter?: unknown }).jupyter === "object";
  } catch {
    return false;
  }
}

async function tmpPath(dest: string): Promise<string> {
  const dir = dest.slice(0, dest.lastIndexOf("/")) || ".";
  await Deno.mkdir(dir, { recursive: true });
  return `${dest}.part-${Deno.pid}`;
}

/** The most a download without a pinned size may write (it would otherwise fill the disk). */
export const UNPINNED_MAX_BYTES = 4 * 2 ** 30;

/** Seconds a download may wait for the server's first answer, and between two pieces of data. */
export const CONNECT_TIMEOUT_S = 30, IDLE_TIMEOUT_S = 60;

/** Temporary files left next to `dest` by a process that is gone (killed, or stopped by Interrupt). */
async function removeStaleParts(dest: string) {
  const dir = dest.slice(0, dest.lastIndexOf("/")) || ".",
    base = dest.slice(dest.lastIndexOf("/") + 1);
  try {
    for await (const e of Deno.readDir(dir)) {
      const pid = e.name.startsWith(`${base}.part-`) ? Number(e.name.slice(base.length + 6)) : NaN;
      if (!Number.isInteger(pid) || pid === Deno.pid) continue;
      let alive = false;
      try {
        Deno.statSync(`/proc/${pid}`);
        alive = true;
      } catch { /* gone */ }
      if (!alive) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
    }
  } catch { /* no folder yet */ }
}

/**
 * Streams `body` to a temporary file next to `dest`, hashing it; returns the temporary path, size and
 * hash. Stops at `maxBytes` (the pinned size: a server sending more is wrong), and when no data arrives
 * for `IDLE_TIMEOUT_S`. The temporary file is removed on every failure, and on SIGINT/SIGTERM.
 */
async function streamToTemp(
  body: ReadableStream<Uint8Array>,
  dest: string,
  total: number | undefined,
  onProgress?: ProgressFn,
  maxBytes = Infinity,
  idleTimeoutS = IDLE_TIMEOUT_S,
): Promise<{ tmp: string; bytes: number; sha256: string }> {
  await removeStaleParts(dest);
  const tmp = await tmpPath(dest);
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  const writer = file.writable.getWriter();
  const hash = createHash("sha256");
  const onSignal = () => {
    try {
      Deno.removeSync(tmp);
    } catch { /* gone */ }
    Deno.exit(130);
  };
  // in a Jupyter kernel a signal is no way to stop a cell (Interrupt is a message): leave its signals be
  const signals = (inKernel() ? [] : ["SIGINT", "SIGTERM"] as const).filter((sig) => {
    try {
      Deno.addSignalListener(sig, onSignal);
      return true;
    } catch {
      return false; // not on this platform
    }
  });
  const reader = body.getReader();
  let bytes = 0;
  try {
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no data for ${idleTimeoutS} s`)),
          idleTimeoutS * 1000,
        );
      });
      const r = await Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
      if (r.done) break;
      if (bytes + r.value.length > maxBytes) {
        throw new Error(`the server sent more than the ${maxBytes} bytes expected`);
      }
      hash.update(r.value);
      await writer.write(r.value);
      bytes += r.value.length;
      onProgress?.(bytes, total);
    }
    await writer.close();
  } catch (e) {
    await reader.cancel().catch(() => {});
    await writer.abort().catch(() => {});
    await Deno.remove(tmp).catch(() => {});
    throw new DownloadError(
      `the transfer broke off after ${bytes} bytes (${(e as Error).message}); nothing was written`,
      "network",
    );
  } finally {
    for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
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
  opts: {
    onProgress?: ProgressFn;
    signal?: AbortSignal;
    /** Seconds to wait for the answer (default `CONNECT_TIMEOUT_S`) and between data (`IDLE_TIMEOUT_S`). */
    connectTimeoutS?: number;
    idleTimeoutS?: number;
  } = {},
): Promise<void> {
  const connectS = opts.connectTimeoutS ?? CONNECT_TIMEOUT_S;
  let res: Response;
  try {
    // the connect timeout covers the answer's headers only; the body has its idle timeout
    const connect = new AbortController();
    const timer = setTimeout(
      () => connect.abort(new Error(`no answer within ${connectS} s`)),
      connectS * 1000,
    );
    try {
      res = await fetch(src.url, {
        signal: opts.signal ? AbortSignal.any([opts.signal, connect.signal]) : connect.signal,
      });
    } finally {
      clearTimeout(timer);
    }
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
  const got = await streamToTemp(
    res.body,
    dest,
    total,
    opts.onProgress,
    src.size ?? UNPINNED_MAX_BYTES,
    opts.idleTimeoutS,
  );
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
