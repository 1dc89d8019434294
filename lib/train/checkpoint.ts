/**
 * Saving and loading tfjs models in Deno, in tfjs's standard format (`model.json` with the topology and a
 * weights manifest, plus one weights file), which tfjs has no file handler for in Deno.
 *
 * A checkpoint lives beside whatever else is in its folder and touches nothing else there: the weights go
 * to a file named by their content (`weights-<hash>.bin`), then `model.json` is replaced by a rename (the
 * moment the new checkpoint exists), then the weights file the old `model.json` named is removed. A save
 * stopped at any point leaves the old checkpoint or the new one, whole. Loading reads only plain file
 * names inside the folder and refuses weights whose size does not match the manifest.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
// a value import: it starts the kit's tfjs set-up (backends), which a script loading only checkpoints needs
import { tf } from "../tf/backend.ts";
void tf.getBackend;

function concat(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return out;
}

/** Thrown for a checkpoint that cannot be trusted: a manifest naming files outside its folder, weights of the wrong size. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The largest `model.json` or `run.json` read: 16 MiB. */
export const CHECKPOINT_MAX_JSON_BYTES = 16 * 2 ** 20;

/**
 * The text of `path` if it is a plain file (not a link, a FIFO or a device, which could hang a read or
 * never end) of at most `maxBytes`.
 *
 * @throws {Deno.errors.NotFound} when there is no such file
 * @throws {CheckpointError} for anything else there, or a file over `maxBytes`
 */
export async function readPlainText(
  path: string,
  maxBytes = CHECKPOINT_MAX_JSON_BYTES,
): Promise<string> {
  const st = await Deno.lstat(path);
  if (!st.isFile) {
    throw new CheckpointError(
      `${path} is not a plain file (a link?): a checkpoint is read only as files`,
    );
  }
  if (st.size > maxBytes) {
    throw new CheckpointError(`${path} is ${st.size} bytes, over the ${maxBytes}-byte limit`);
  }
  return await Deno.readTextFile(path);
}

/** A weights file the kit writes: named by the first 16 hex digits of its SHA-256. */
const OWN_WEIGHTS = /^weights-[0-9a-f]{16}\.bin$/;

/**
 * The weights files of the checkpoint in `dir` that the kit wrote (and so may remove), or an error when
 * `dir` holds a `model.json` the kit did not write (saving there would replace someone else's model).
 */
async function ownWeights(dir: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/model.json`);
  } catch {
    return []; // no checkpoint yet
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json?.convertedBy !== "convkit") {
    throw new CheckpointError(
      `${dir} holds a model.json the kit did not write: save the checkpoint into another folder`,
    );
  }
  return (json.weightsManifest ?? []).flatMap((g: { paths: string[] }) => g.paths)
    .filter((p: unknown) => typeof p === "string" && OWN_WEIGHTS.test(p));
}

/** A tfjs IOHandler over a folder: `model.json` and its weights file, beside anything else there. */
export function folderHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await Deno.mkdir(dir, { recursive: true });
      const weights = concat(
        (artifacts.weightData ?? new ArrayBuffer(0)) as ArrayBuffer | ArrayBuffer[],
      );
      const name = `weights-${(await sha256Hex(weights)).slice(0, 16)}.bin`;
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy,
        convertedBy: "convkit",
        weightsManifest: [{ paths: [name], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      const before = await ownWeights(dir);
      const tmpWeights = `${dir}/${name}.tmp-${Deno.pid}`,
        tmpJson = `${dir}/model.json.tmp-${Deno.pid}`;
      await Deno.writeFile(tmpWeights, weights);
      await Deno.rename(tmpWeights, `${dir}/${name}`);
      await Deno.writeTextFile(tmpJson, JSON.stringify(json));
      await Deno.rename(tmpJson, `${dir}/model.json`); // the new checkpoint exists from here on
      for (const old of before) {
        if (old !== name) await Deno.remove(`${dir}/${old}`).catch(() => {});
      }
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = JSON.parse(await readPlainText(`${dir}/model.json`));
      const manifest = json.weightsManifest as {
        paths: string[];
        weights: tf.io.WeightsManifestEntry[];
      }[];
      const paths = manifest.flatMap((g) => g.paths);
      for (const p of paths) {
        if (typeof p !== "string" || !/^[A-Za-z0-9._-]+$/.test(p) || p.startsWith(".")) {
          throw new CheckpointError(
            `${dir}/model.json names the weights file ${
              JSON.stringify(p)
            }: only a plain file name in its own folder is read`,
          );
        }
      }
      for (const p of paths) {
        const st = await Deno.lstat(`${dir}/${p}`);
        if (!st.isFile) {
          throw new CheckpointError(
            `${dir}/${p} is not a plain file (a link?): a checkpoint is read only from its own folder`,
          );
        }
      }
      const buffers = await Promise.all(paths.map((p) => Deno.readFile(`${dir}/${p}`)));
      const weightData = concat(
        buffers.map((b) =>
          b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
        ),
      );
      const specs = manifest.flatMap((g) => g.weights);
      const expected = specs.reduce(
        (a, w) => a + w.shape.reduce((x, y) => x * y, 1) * (DTYPE_BYTES[w.dtype] ?? NaN),
        0,
      );
      if (weightData.byteLength !== expected) {
        throw new CheckpointError(
          `${dir}: the weights hold ${weightData.byteLength} bytes, but model.json describes ${expected} ` +
            `(${specs.length} tensors): the weights are of another model, or cut short`,
        );
      }
      // a file the kit wrote is named by its hash: one changed since (damaged, edited) is refused
      for (const [i, p] of paths.entries()) {
        if (OWN_WEIGHTS.test(p) && (await sha256Hex(buffers[i])).slice(0, 16) !== p.slice(8, 24)) {
          throw new CheckpointError(
            `${dir}/${p} does not match the hash in its name: the weights were changed or damaged`,
          );
        }
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData: weightData.buffer as ArrayBuffer,
      };
    },
  };
}

/**
 * Saves a model to a folder as `model.json` and `weights-<hash>.bin`, replacing the checkpoint there (if
 * any) atomically and leaving every other file alone.
 *
 * @throws {CheckpointError} when the folder holds a `model.json` the kit did not write
 */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(folderHandler(dir));
}

/**
 * Loads a model saved by `saveModel` (or any tfjs layers model folder).
 *
 * @throws {CheckpointError} when model.json names files outside its folder or a link, or the weights'
 *   size does not match what it describes
 */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return await tfl.loadLayersModel(folderHandler(dir));
}
