/**
 * A training run kept on disk, so that a long run outlives the kernel: the model (a checkpoint of
 * checkpoint.ts) and beside it `run.json`, with the recipe that made it (network, data, optimizer,
 * epochs: whatever the notebook names) and the per-epoch history, to draw the curves again.
 *
 * A saved run is used only when it is the run the notebook would do now: the same recipe, and a model
 * with the same layers and weight shapes. Anything else (another recipe, an older network, a damaged or
 * half-written folder) is reported with its reason and the notebook trains again; nothing throws.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import { loadModel, readPlainText, saveModel } from "./checkpoint.ts";
import type { HistoryEntry } from "./history.ts";

/** What `run.json` holds. */
export interface RunRecord {
  /** What made the run: any JSON (e.g. the model spec, the data, the optimizer, the epochs). */
  recipe: unknown;
  history: HistoryEntry[];
  best?: HistoryEntry;
  /** ISO time of the save. */
  savedAt: string;
}

/**
 * The folder a notebook saves its trained model `name` in: `$CONVKIT_MODELS/name`, else
 * `build/models/name` in the kit (git-ignored; a student edition has its own `build/`).
 *
 * @example
 * ```ts
 * import { savedModelDir } from "convkit/train/saved_run.ts";
 * import assert from "node:assert/strict";
 * assert.match(savedModelDir("lenet5-mnist"), /models\/lenet5-mnist$/);
 * ```
 */
export function savedModelDir(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new RangeError(`savedModelDir: ${JSON.stringify(name)} is not a plain folder name`);
  }
  const root = Deno.env.get("CONVKIT_MODELS") ??
    new URL("../../build/models", import.meta.url).pathname;
  return `${root.replace(/\/$/, "")}/${name}`;
}

/** JSON with object keys sorted, so that equal recipes give equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) =>
        `${JSON.stringify(k)}:${canonical(o[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** The top-level fields in which two recipes differ (or "recipe" when they are not both objects). */
function recipeDiff(a: unknown, b: unknown): string[] {
  if (!a || !b || typeof a !== "object" || typeof b !== "object") {
    return canonical(a) === canonical(b) ? [] : ["recipe"];
  }
  const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
  return [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()
    .filter((k) => canonical(ao[k]) !== canonical(bo[k]));
}

/** Layer classes and weight shapes, as one line each: what must agree for weights to fit. */
function architecture(model: tfl.LayersModel): string[] {
  return [
    `input ${JSON.stringify(model.inputs[0].shape.slice(1))}`,
    ...model.layers.map((l) =>
      `${l.getClassName()} ${l.getWeights().map((w) => JSON.stringify(w.shape)).join(" ")}`
    ),
  ];
}

/**
 * Saves a trained model and its record into `dir`. `run.json` is removed first and written last, so a
 * save stopped half-way leaves a folder that `loadRun` refuses (and the notebook trains again).
 *
 * @throws {CheckpointError} when `dir` holds a `model.json` the kit did not write
 */
export async function saveRun(
  dir: string,
  model: tfl.LayersModel,
  run: { recipe: unknown; history: HistoryEntry[]; best?: HistoryEntry },
): Promise<void> {
  await Deno.remove(`${dir}/run.json`).catch(() => {});
  await saveModel(model, dir);
  const record: RunRecord = {
    recipe: JSON.parse(canonical(run.recipe)),
    history: run.history,
    ...(run.best ? { best: run.best } : {}),
    savedAt: new Date().toISOString(),
  };
  const tmp = `${dir}/run.json.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(record, null, 1) + "\n");
  await Deno.rename(tmp, `${dir}/run.json`);
}

/** What `loadRun` found: the model and its record when they can be used, and in every case why. */
export interface LoadedRun {
  model?: tfl.LayersModel;
  record?: RunRecord;
  /** One line for the notebook to print: what was loaded, or why not. */
  reason: string;
}

/**
 * Loads the run saved in `dir` if it was made by `recipe` and its model has the layers and weight shapes
 * of `like` (the model the notebook built). Never throws for a missing, stale or damaged run: `model` is
 * then undefined and `reason` says why.
 */
export async function loadRun(
  dir: string,
  like: tfl.LayersModel,
  recipe: unknown,
): Promise<LoadedRun> {
  let record: RunRecord;
  try {
    record = JSON.parse(await readPlainText(`${dir}/run.json`));
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      throw new Error("not a JSON object");
    }
  } catch (e) {
    return {
      reason: e instanceof Deno.errors.NotFound
        ? `no saved run in ${dir}`
        : `the saved run in ${dir} is unreadable (${(e as Error).message})`,
    };
  }
  const diff = recipeDiff(record.recipe, JSON.parse(canonical(recipe)));
  if (diff.length) {
    return {
      reason: `the run saved in ${dir} was made with another ${diff.join(", ")} than this one`,
    };
  }
  let model: tfl.LayersModel;
  try {
    model = await loadModel(dir);
  } catch (e) {
    return { reason: `the model saved in ${dir} cannot be loaded (${(e as Error).message})` };
  }
  const have = architecture(model), want = architecture(like);
  const at = want.findIndex((line, i) => have[i] !== line);
  if (at >= 0 || have.length !== want.length) {
    model.dispose();
    const i = at >= 0 ? at : Math.min(have.length, want.length);
    return {
      reason: `the model saved in ${dir} is another network (saved: ${
        have[i] ?? "no more layers"
      }; this notebook's: ${want[i] ?? "no more layers"})`,
    };
  }
  if (!Array.isArray(record.history)) {
    model.dispose();
    return { reason: `the saved run in ${dir} has no history` };
  }
  return {
    model,
    record,
    reason: `loaded the run saved in ${dir} on ${record.savedAt} (${record.history.length} epochs)`,
  };
}
