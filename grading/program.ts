/**
 * Grading programs: what a test case asks of a student's code, as data. A program is a list of calls into
 * the student's `lib/` modules, each naming a module and an exported function, with arguments that are
 * values or results of earlier calls; its outputs are results to compare with the reference.
 *
 * The sandbox (harness.ts) runs programs on the student's code and sends back only the outputs; the
 * trusted grader runs the same programs on the reference solution and compares. Expected values never
 * enter the sandbox.
 *
 * @module
 */

/** A JSON value, with tensors and typed arrays encoded. */
export type Value =
  | number
  | string
  | boolean
  | null
  | Value[]
  | { [k: string]: Value };

/** One call: `module#function(args...)`, its result kept as `as`. */
export interface Step {
  /** Module path relative to `lib/`, and the exported function: `"layers/conv2d.ts#conv2dForward"`. */
  call: string;
  /** Literal values (`{ value }`), results of earlier steps (`{ ref: "fwd.cache" }`), or objects of these. */
  args: Arg[];
  as: string;
  /** Turn a throw into a result `{ $error: { name, message } }` instead of failing the program. */
  catch?: boolean;
}

/** An argument: a literal, a reference to an earlier result, or an object whose fields are arguments. */
export type Arg = { value: Value } | { ref: string } | { object: Record<string, Arg> };

/** A program: steps, and the results to report. */
export interface Program {
  steps: Step[];
  /** References to report, e.g. `["fwd.out", "bwd.dx"]`. */
  outputs: string[];
}

/** What running a program gave: its outputs, or where and how it failed. */
export type ProgramResult =
  | { ok: true; outputs: Record<string, Value> }
  | { ok: false; error: { name: string; message: string; step?: string } };

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** Encodes tensors (`{ data: Float64Array, shape }`), typed arrays and plain values as JSON. */
export function encode(v: unknown, depth = 0): Value {
  if (depth > 20) throw new RangeError("encode: value nested too deeply");
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : { $num: String(v) };
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (v instanceof Float64Array) {
    return { $f64: b64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  }
  if (v instanceof Int32Array) return { $i32: [...v] };
  if (Array.isArray(v)) return v.map((x) => encode(x, depth + 1));
  if (typeof v === "object") {
    const out: Record<string, Value> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x !== "function") out[k] = encode(x, depth + 1);
    }
    return out;
  }
  throw new TypeError(`encode: cannot send a ${typeof v}`);
}

/** The inverse of `encode`. */
export function decode(v: Value): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(decode);
  if ("$f64" in v && typeof v.$f64 === "string") {
    const bytes = unb64(v.$f64);
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  }
  if ("$i32" in v && Array.isArray(v.$i32)) return Int32Array.from(v.$i32 as number[]);
  if ("$num" in v) return Number(v.$num);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = decode(x);
  return out;
}

function lookup(results: Map<string, unknown>, ref: string): unknown {
  const [head, ...path] = ref.split(".");
  if (!results.has(head)) throw new ReferenceError(`no earlier step is called "${head}"`);
  let v = results.get(head);
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** Loads a module of `lib/` by its path there. */
export type Importer = (path: string) => Promise<Record<string, unknown>>;

/** Runs a program with modules from `importer`; never throws. */
export async function runProgram(program: Program, importer: Importer): Promise<ProgramResult> {
  const results = new Map<string, unknown>();
  for (const step of program.steps) {
    const [path, fn] = step.call.split("#");
    try {
      const mod = await importer(path);
      const f = mod[fn];
      if (typeof f !== "function") {
        throw new TypeError(`lib/${path} does not export a function ${fn}`);
      }
      const resolve = (a: Arg): unknown =>
        "ref" in a
          ? lookup(results, a.ref)
          : "object" in a
          ? Object.fromEntries(Object.entries(a.object).map(([k, x]) => [k, resolve(x)]))
          : decode(a.value);
      const args = step.args.map(resolve);
      try {
        results.set(step.as, await f(...args));
      } catch (e) {
        if (!step.catch) throw e;
        const err = e as Error;
        results.set(step.as, {
          $error: { name: String(err?.name ?? "Error"), message: String(err?.message ?? e) },
        });
      }
    } catch (e) {
      const err = e as Error;
      return {
        ok: false,
        error: {
          name: String(err?.name ?? "Error"),
          message: String(err?.message ?? e).slice(0, 2000),
          step: step.call,
        },
      };
    }
  }
  try {
    const outputs: Record<string, Value> = {};
    for (const ref of program.outputs) outputs[ref] = encode(lookup(results, ref));
    return { ok: true, outputs };
  } catch (e) {
    return {
      ok: false,
      error: { name: "OutputError", message: String((e as Error).message ?? e) },
    };
  }
}

/** `encode` with object keys in sorted order, so that `{ pad, stride }` and `{ stride, pad }` agree. */
function canonical(v: Value): Value {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(canonical);
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
}

/**
 * The key of one call of an exercise's function: its arguments (those `keep` lists, else all), encoded
 * canonically. The trusted grader records calls under it; the sandbox replays them by it.
 *
 * @example
 * ```ts
 * import { callKey } from "grading/program.ts";
 * import assert from "node:assert/strict";
 * assert.equal(callKey([7, 3, 2, 0, "a"], [0, 1, 2, 3]), callKey([7, 3, 2, 0, "b"], [0, 1, 2, 3]));
 * assert.equal(callKey([{ stride: 1, pad: 0 }]), callKey([{ pad: 0, stride: 1 }]));
 * ```
 */
export function callKey(args: readonly unknown[], keep?: readonly number[]): string {
  const picked = keep ? keep.map((i) => args[i]) : [...args];
  return JSON.stringify(canonical(encode(picked)));
}

/** Every number in a value, in a fixed order (sorted keys): for matching calls up to rounding. */
export function flatNumbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === "number") out.push(v);
  else if (v instanceof Float64Array || v instanceof Int32Array) out.push(...v);
  else if (Array.isArray(v)) v.forEach((x) => flatNumbers(x, out));
  else if (v && typeof v === "object") {
    for (const k of Object.keys(v).sort()) flatNumbers((v as Record<string, unknown>)[k], out);
  }
  return out;
}
