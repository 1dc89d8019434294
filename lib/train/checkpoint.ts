/**
 * Saving and loading tfjs models in Deno, in tfjs's standard format (`model.json` with the topology and a
 * weights manifest, plus `weights.bin`), which tfjs has no file handler for in Deno. Saving writes a
 * temporary folder and renames it into place, so an interrupted save never leaves half a checkpoint.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { tf } from "../tf/backend.ts";

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

/** A tfjs IOHandler over a folder: `model.json` and `weights.bin`. */
export function folderHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const tmp = `${dir}.tmp-${Deno.pid}`;
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      await Deno.mkdir(tmp, { recursive: true });
      const weights = concat(
        (artifacts.weightData ?? new ArrayBuffer(0)) as ArrayBuffer | ArrayBuffer[],
      );
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy,
        convertedBy: "convkit",
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      await Deno.writeFile(`${tmp}/weights.bin`, weights);
      await Deno.writeTextFile(`${tmp}/model.json`, JSON.stringify(json));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.rename(tmp, dir);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
      const manifest = json.weightsManifest as {
        paths: string[];
        weights: tf.io.WeightsManifestEntry[];
      }[];
      const buffers = await Promise.all(
        manifest.flatMap((g) => g.paths.map((p) => Deno.readFile(`${dir}/${p}`))),
      );
      const weightData = concat(
        buffers.map((b) =>
          b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
        ),
      );
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: manifest.flatMap((g) => g.weights),
        weightData: weightData.buffer as ArrayBuffer,
      };
    },
  };
}

/** Saves a model to a folder (replacing what was there, atomically). */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(folderHandler(dir));
}

/** Loads a model saved by `saveModel` (or any tfjs layers model folder with one weights file group). */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return await tfl.loadLayersModel(folderHandler(dir));
}
