import assert from "node:assert/strict";
import { pthreadWorkerScript } from "convkit/tf/wasm_threads.ts";

Deno.test("pthreadWorkerScript() loads the Emscripten module from its npm file and sets only settable globals", () => {
  const src = pthreadWorkerScript();
  assert.match(src, /importScripts\("[^"]*tfjs-backend-wasm-threaded-simd\.js"\);/);
  assert.ok(!src.includes("URL.createObjectURL(e.data.urlOrBlob)"));
  assert.ok(!src.includes("Object.assign(global,{"));
  assert.ok(!src.includes("\n"), "one line, as tfjs writes its blob");
});

// Each start is its own process: tfjs-wasm picks its build once per process.
async function startIn(threads?: string) {
  const code = `
    import { setBackend, tf, wasmInfo } from "convkit/tf/backend.ts";
    await setBackend("cpu");
    const x = tf.randomNormal([4, 9, 9, 3], 0, 1, "float32", 1), w = tf.randomNormal([3, 3, 3, 5], 0, 1, "float32", 2);
    const want = tf.conv2d(x, w, 1, "same").dataSync();
    await setBackend("wasm");
    const got = tf.conv2d(tf.tensor(x.dataSync(), x.shape), tf.tensor(w.dataSync(), w.shape), 1, "same").dataSync();
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    console.log(JSON.stringify({ ...wasmInfo(), err }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    env: threads === undefined ? {} : { CONVKIT_WASM_THREADS: threads },
    signal: AbortSignal.timeout(60_000), // a pool thread holding the process open would hang here
    cwd: new URL("../..", import.meta.url).pathname,
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return { ok: out.success, text, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the wasm backend starts with 2 threads, computes what tfjs-cpu computes, and lets the process end", async () => {
  const r = await startIn("2");
  assert.ok(r.ok, r.stderr);
  const info = JSON.parse(r.text);
  assert.equal(info.threads, 2, info.note);
  assert.ok(info.err < 1e-4, `max difference ${info.err}`);
});

Deno.test("CONVKIT_WASM_THREADS=1 starts tfjs's single-threaded build; 0 is refused", async () => {
  const one = await startIn("1");
  assert.ok(one.ok, one.stderr);
  assert.equal(JSON.parse(one.text).threads, 1);
  const zero = await startIn("0");
  assert.ok(!zero.ok);
  assert.match(zero.stderr, /CONVKIT_WASM_THREADS must be a whole number >= 1, got "0"/);
});

Deno.test("outside a Jupyter kernel and without CONVKIT_WASM_THREADS, wasm takes every core (at most 8)", async () => {
  const r = await startIn();
  assert.ok(r.ok, r.stderr);
  assert.equal(JSON.parse(r.text).threads, Math.min(navigator.hardwareConcurrency, 8));
});
