/**
 * Starts tfjs-wasm's multi-threaded build in Deno, so that XNNPACK uses every core (2 threads ran a conv
 * forward 1.6x faster on the 2-core development machine). Stock tfjs-wasm 4.22 cannot do it in Deno:
 * its Emscripten glue sees Node (Deno has `process`) and
 *
 * 1. starts each pthread as a `node:worker_threads` Worker on a `blob:` URL, which Node's (and Deno's)
 *    workers refuse: the kit writes the worker script to a file (`pthreadWorkerScript`) and hands out
 *    its path instead;
 * 2. the worker script then loads the Emscripten module from that blob, and assigns `location`, which
 *    Deno's worker global only has a getter for: the kit's copy of the script loads the module from its
 *    npm file and skips globals it cannot set;
 * 3. sizes the thread pool as (logical cores) / 2, assuming hyper-threading, which is 1 on 2 cores: the
 *    start reports twice the threads asked for, for the moment it takes;
 * 4. keeps the process alive for as long as its pool threads run (forever): the kit lets the workers
 *    go (`unref`), so that scripts and tests end when their work does.
 *
 * `startWasmThreaded` does all that around one `tf.setBackend("wasm")` and puts back what it changed
 * (the global `Worker`, which the glue replaces with Node's, included). Every patch checks that the text
 * it changes is there; if anything differs (another tfjs version), it throws and the caller starts the
 * single-threaded build instead.
 *
 * @module
 */
import os from "node:os";
import { createRequire } from "node:module";
import { Worker as NodeWorker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

const require = createRequire(import.meta.url);
const PKG = "@tensorflow/tfjs-backend-wasm";

/** Replaces `from` in `text` by `to`, or throws if `from` is not there exactly once. */
function patch(text: string, from: string, to: string, what: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`tfjs-wasm's pthread worker script changed (${what}); cannot patch it`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/**
 * The pthread worker script of tfjs-wasm's threaded build, patched to run in Deno: it loads the
 * Emscripten module from its npm file, and it sets only the globals Deno lets it set.
 */
export function pthreadWorkerScript(): string {
  const { wasmWorkerContents } = require(
    `${PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`,
  );
  const factory = require.resolve(`${PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.js`);
  let src = patch(
    wasmWorkerContents as string,
    'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}',
    `importScripts(${JSON.stringify(factory)});`,
    "module loading",
  );
  src = patch(
    src,
    "Object.assign(global,{",
    "(function(t,o){for(const k in o){try{Object.defineProperty(t,k,{value:o[k],writable:true,configurable:true})}catch(_){}}})(global,{",
    "worker globals",
  );
  // tfjs does the same before making its blob: the script holds a "\n" inside a string literal
  return src.replace(/\n/g, "\\n");
}

/** Writes the worker script where the workers can load it (once per content), and returns the path. */
function writeWorkerScript(): string {
  const src = pthreadWorkerScript();
  let hash = 0;
  for (let i = 0; i < src.length; i++) hash = (hash * 31 + src.charCodeAt(i)) >>> 0;
  const path = `${os.tmpdir()}/convkit-tfjs-wasm-pthread-${hash.toString(16)}.cjs`;
  try {
    if (Deno.readTextFileSync(path) === src) return path;
  } catch { /* not there yet */ }
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, src);
  Deno.renameSync(tmp, path); // atomic: a concurrent process never loads half a script
  return path;
}

/**
 * Starts the wasm backend with `threads` XNNPACK threads (at most 8). Returns the number it got.
 *
 * @throws {Error} when the threaded build does not start; the global state it touched is restored
 */
export async function startWasmThreaded(threads: number): Promise<number> {
  const script = writeWorkerScript();
  const workers = new Set<NodeWorker>();
  const proto = NodeWorker.prototype as unknown as {
    postMessage: (...a: unknown[]) => void;
    ref: () => void;
  };
  const { postMessage } = proto;
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  const globalWorker = globalThis.Worker;
  proto.postMessage = function (this: NodeWorker, ...a: unknown[]) {
    workers.add(this);
    return postMessage.apply(this, a);
  };
  // a running pthread refs its worker; the kit's threads must never hold the process open
  proto.ref = () => {};
  URL.createObjectURL = (obj: Blob) =>
    obj instanceof Blob && obj.type === "application/javascript" ? script : createObjectURL(obj);
  // the pool gets min(threads, reported / 2): report twice what is asked (or twice the cores)
  (os as { cpus: () => os.CpuInfo[] }).cpus = () => {
    const real = cpus();
    return Array.from(
      { length: 2 * Math.max(threads, real.length) },
      (_, i) => real[i % real.length],
    );
  };
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  let ok = false, why = "";
  try {
    ok = await tf.setBackend("wasm");
  } catch (e) {
    why = `: ${e instanceof Error ? e.message : e}`;
  } finally {
    proto.postMessage = postMessage;
    URL.createObjectURL = createObjectURL;
    (os as { cpus: () => os.CpuInfo[] }).cpus = cpus;
    globalThis.Worker = globalWorker;
    for (const w of workers) w.unref();
  }
  if (!ok) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    throw new Error(`tfjs-wasm's threaded build did not start${why}`);
  }
  return getThreadsCount();
}
