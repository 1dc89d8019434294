/**
 * TensorFlow.js in Deno: registers the cpu, wasm and webgpu backends, reports which ones work here, and
 * picks one. tfjs believes it runs in Node; this module turns that off (and wasm threads with it, without
 * which the wasm backend does not start).
 *
 * Importing this module leaves tfjs on the `cpu` backend; `useBackend("auto")` moves to webgpu on a real
 * GPU adapter, else to wasm (faster than cpu: bench/RESULTS.md; webgpu's speed on a GPU is not measured yet).
 * `setBackend` in tfjs returns false on failure and silently keeps another backend, so every function
 * here checks `tf.getBackend()` afterwards and says what it got.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers' bundle registers the gradients of every op (tfjs-core's own register_all_gradients.js uses
// extensionless ESM imports that Deno cannot resolve), so that tf.grads and optimizers work
import "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { startWasmThreaded } from "./wasm_threads.ts";
import { checkWebgpuKernels, registerWebgpuKernels } from "./webgpu_kernels.ts";

tf.env().set("IS_NODE", false);
tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
// tfjs ranks webgpu first but starts it asynchronously, so a fresh import would have no usable backend.
// Start on cpu, which every machine has and which allows synchronous reads; useBackend() picks others.
await tf.setBackend("cpu");

export { tf };

/** The backends the kit registers. */
export type BackendName = "cpu" | "wasm" | "webgpu";
export const BACKENDS: readonly BackendName[] = ["cpu", "wasm", "webgpu"];

/** What `probeBackends` found for one backend. */
export interface BackendReport {
  name: BackendName;
  /** It initialized and computed a small conv correctly. */
  ok: boolean;
  /** Milliseconds to initialize and run the check (shader compilation included for webgpu). */
  ms: number;
  /** For webgpu: the adapter's description, and whether it is a software (fallback) adapter. */
  adapter?: { description: string; fallback: boolean };
  /** For wasm: its threads, and why one if only one. */
  detail?: string;
  error?: string;
}

/** The WebGPU adapter Deno offers, if any. */
export async function gpuAdapterInfo(): Promise<
  { description: string; fallback: boolean } | undefined
> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return undefined;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    description: info.description || info.vendor || "unknown adapter",
    fallback: Boolean(
      info.isFallbackAdapter ??
        (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
    ),
  };
}

/** How the wasm backend started: its XNNPACK threads, and why not more. */
export interface WasmInfo {
  started: boolean;
  threads: number;
  note?: string;
}
const wasm: WasmInfo = { started: false, threads: 1 };

/** How the wasm backend started (`threads: 1, started: false` before it has). */
export function wasmInfo(): Readonly<WasmInfo> {
  return { ...wasm };
}

/** Whether this code runs in Deno's Jupyter kernel. */
function inJupyterKernel(): boolean {
  try {
    // outside the kernel, reading Deno.jupyter throws
    return (Deno as unknown as { jupyter?: unknown }).jupyter !== undefined;
  } catch {
    return false;
  }
}

/**
 * The threads wasm should use: `CONVKIT_WASM_THREADS` if set (1 = tfjs's single-threaded build), else
 * every core, at most 8 (tfjs-wasm's pool), except in a Jupyter kernel: there Interrupt can stop the
 * main thread inside a multi-threaded kernel, after which tfjs-wasm's thread pool waits forever (the
 * next training step hangs; measured), so notebooks get one thread unless the variable asks for more.
 */
function wantedWasmThreads(): { threads: number; why?: string } {
  let asked: string | undefined;
  try {
    asked = Deno.env.get("CONVKIT_WASM_THREADS");
  } catch { /* no env permission: the default */ }
  if (!asked && inJupyterKernel()) {
    return {
      threads: 1,
      why: "single-threaded in a Jupyter kernel, where Interrupt could hang the thread pool",
    };
  }
  const n = asked ? Number(asked) : navigator.hardwareConcurrency;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`CONVKIT_WASM_THREADS must be a whole number >= 1, got "${asked}"`);
  }
  return n > 1
    ? { threads: Math.min(n, 8) }
    : { threads: 1, why: "single-threaded: CONVKIT_WASM_THREADS=1, or one core" };
}

/** Starts wasm once: the threaded build when more than one thread is wanted, else (or if it fails) plain. */
async function startWasm(): Promise<void> {
  const { threads, why } = wantedWasmThreads();
  wasm.started = true;
  wasm.note = why;
  if (threads > 1) {
    try {
      wasm.threads = await startWasmThreaded(threads);
      return;
    } catch (e) {
      wasm.note = `single-threaded: ${e instanceof Error ? e.message : e}`;
    }
  }
  wasm.threads = 1;
}

/** "1 thread", "2 threads". */
function threadsText(): string {
  return `${wasm.threads} thread${wasm.threads > 1 ? "s" : ""}`;
}

/**
 * Puts tfjs's engine back in order after a computation was stopped halfway. Jupyter's Interrupt ends the
 * running JavaScript at once, without the `finally` blocks that close tfjs's scopes and gradient tapes,
 * so the next training step would find a stale tape ("Cannot find a connection between any variable
 * and the result of the loss function"). Closes the open scopes (freeing their intermediate tensors;
 * variables, such as a model's weights, are kept) and resets the tape. Returns whether anything was open.
 * The trainers call it first; call it yourself before other tfjs work after an Interrupt.
 */
export function recoverEngine(): boolean {
  const engine = tf.engine();
  const state = engine.state as unknown as {
    scopeStack: unknown[];
    gradientDepth: number;
    kernelDepth: number;
    activeTape: unknown;
  };
  if (state.scopeStack.length === 0 && state.gradientDepth === 0 && state.kernelDepth === 0) {
    return false;
  }
  while (state.scopeStack.length > 0) engine.endScope(undefined as never);
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  state.activeTape = null;
  return true;
}

/**
 * Switches tfjs to `name` and checks that it took.
 *
 * @throws {Error} when the backend cannot start, naming the backend tfjs kept instead
 */
export async function setBackend(name: BackendName): Promise<void> {
  let ok = false, why = "";
  try {
    if (name === "wasm" && !wasm.started) await startWasm();
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    why = `: ${e instanceof Error ? e.message : e}`;
  }
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tfjs backend "${name}" did not start${why}; tfjs is on "${tf.getBackend()}"`);
  }
}

/**
 * Tries every backend with a 3x3 conv of ones over an 8x8x3 input of ones (each output must be 27) and
 * reports what works. Leaves tfjs on the backend it was on, if that one works.
 *
 * @example
 * ```ts
 * import { probeBackends } from "convkit/tf/backend.ts";
 * import assert from "node:assert/strict";
 * const reports = await probeBackends(["cpu"]);
 * assert.equal(reports[0].ok, true);
 * ```
 * @see ../../notebooks/00_setup.ipynb
 */
export async function probeBackends(
  names: readonly BackendName[] = BACKENDS,
): Promise<BackendReport[]> {
  const before = tf.getBackend() as BackendName | undefined;
  const reports: BackendReport[] = [];
  for (const name of names) {
    const t0 = performance.now();
    const report: BackendReport = { name, ok: false, ms: 0 };
    try {
      if (name === "webgpu") {
        const info = await gpuAdapterInfo();
        if (!info) throw new Error("no WebGPU adapter");
        report.adapter = info;
      }
      await setBackend(name);
      const y = tf.tidy(() =>
        tf.conv2d(
          tf.ones([1, 8, 8, 3]) as tf.Tensor4D,
          tf.ones([3, 3, 3, 1]) as tf.Tensor4D,
          1,
          "valid",
        )
      );
      const data = await y.data();
      y.dispose();
      report.ok = data.length === 36 && data.every((v) => v === 27);
      if (name === "wasm") {
        report.detail = `${threadsText()}${wasm.note ? ` (${wasm.note})` : ""}`;
      }
      if (!report.ok) report.error = `wrong conv result ${data[0]}`;
    } catch (e) {
      report.error = e instanceof Error ? e.message : String(e);
    }
    report.ms = performance.now() - t0;
    reports.push(report);
  }
  if (before && reports.find((r) => r.name === before)?.ok !== false) {
    await setBackend(before).catch(() => {});
  }
  return reports;
}

/**
 * Picks a backend: `"auto"` takes webgpu on a real (not software) GPU adapter, with the kit's conv
 * gradient kernels (`registerWebgpuKernels`) once they pass `checkWebgpuKernels` on it (else tfjs's),
 * else wasm, else cpu. Returns the backend in use and why.
 */
export async function useBackend(
  prefer: BackendName | "auto" = "auto",
): Promise<{ name: BackendName; reason: string }> {
  if (prefer !== "auto") {
    await setBackend(prefer);
    return { name: prefer, reason: "asked for" };
  }
  const info = await gpuAdapterInfo();
  let gpuFailed: string | undefined;
  if (info && !info.fallback) {
    try {
      registerWebgpuKernels();
      await setBackend("webgpu");
      // never measured on most GPUs and drivers: checked here, put aside (stock kernels) if they fail
      const failed = await checkWebgpuKernels();
      return {
        name: "webgpu",
        reason: `GPU adapter: ${info.description}; ${
          failed
            ? `stock tfjs-webgpu conv gradients (the kit's failed their check on this GPU: ${failed})`
            : "the kit's webgpu conv gradient kernels (checked on this GPU)"
        }`,
      };
    } catch (e) {
      // fall through to the CPU backends, saying why
      gpuFailed = `webgpu did not start on ${info.description} (${
        e instanceof Error ? e.message : String(e)
      })`;
    }
  }
  const noGpu = gpuFailed ??
    (info ? `only a software adapter (${info.description})` : "no GPU adapter");
  for (const name of ["wasm", "cpu"] as const) {
    try {
      await setBackend(name);
      const threads = name === "wasm" ? ` (${threadsText()})` : "";
      return {
        name,
        reason: `${noGpu}; ${name}${threads} is the fastest CPU backend that started`,
      };
    } catch { /* next */ }
  }
  throw new Error("no tfjs backend started");
}
