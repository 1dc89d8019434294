import assert from "node:assert/strict";
import { tfjsModel } from "convkit/models/tfjs.ts";
import { setBackend } from "convkit/tf/backend.ts";
import { CheckpointError, loadModel, saveModel } from "convkit/train/checkpoint.ts";
import { seedWeights } from "convkit/train/trainer.ts";

// Checkpoints beside other files: they never delete what the kit did not write, never read outside their
// folder, and refuse weights that do not fit what model.json describes.

await setBackend("cpu");
const net = (units: number) =>
  tfjsModel({
    name: "tiny",
    input: [4, 4, 1],
    layers: [{ kind: "fc", name: "fc", units }, { kind: "softmax", name: "softmax" }],
  });
const files = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("saveModel() keeps every other file of its folder, also when the folder is the current one", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  const model = net(3);
  try {
    Deno.writeTextFileSync(`${dir}/notes.txt`, "my notes");
    Deno.mkdirSync(`${dir}/data`);
    Deno.chdir(dir);
    await saveModel(model, ".");
    await saveModel(model, dir); // again: the same checkpoint replaced, nothing else touched
    seedWeights(model, 5);
    await saveModel(model, dir); // new weights: the old weights file goes, only it
    const names = files(dir);
    assert.deepEqual(names.filter((n) => !/^weights-/.test(n)), [
      "data",
      "model.json",
      "notes.txt",
    ]);
    assert.equal(names.filter((n) => /^weights-[0-9a-f]{16}\.bin$/.test(n)).length, 1);
    assert.equal(Deno.readTextFileSync(`${dir}/notes.txt`), "my notes");
  } finally {
    Deno.chdir(cwd);
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a save stopped before its model.json was replaced leaves the old checkpoint whole", async () => {
  const dir = await Deno.makeTempDir();
  const model = net(3);
  try {
    await saveModel(model, dir);
    const before = Deno.readTextFileSync(`${dir}/model.json`);
    // what a save killed midway leaves: a new weights file and a temporary model.json beside the old
    Deno.writeFileSync(`${dir}/weights-0123456789abcdef.bin`, new Uint8Array(52));
    Deno.writeTextFileSync(`${dir}/model.json.tmp-999`, "{ half");
    assert.equal(Deno.readTextFileSync(`${dir}/model.json`), before);
    const loaded = await loadModel(dir);
    assert.equal(loaded.countParams(), model.countParams());
    loaded.dispose();
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel() reads no file outside its folder and refuses weights of another model", async () => {
  const dir = await Deno.makeTempDir();
  const small = net(3), big = net(5);
  try {
    await saveModel(small, `${dir}/a`);
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/a/model.json`));
    for (const path of ["../../../../etc/passwd", "/etc/passwd", ".hidden"]) {
      json.weightsManifest[0].paths = [path];
      Deno.writeTextFileSync(`${dir}/a/model.json`, JSON.stringify(json));
      await assert.rejects(() => loadModel(`${dir}/a`), CheckpointError, path);
      await assert.rejects(() => loadModel(`${dir}/a`), /only a plain file name in its own folder/);
    }
    // the weights of a 5-unit layer where model.json describes a 3-unit one
    await saveModel(small, `${dir}/b`);
    await saveModel(big, `${dir}/c`);
    const b = JSON.parse(Deno.readTextFileSync(`${dir}/b/model.json`));
    const c = JSON.parse(Deno.readTextFileSync(`${dir}/c/model.json`));
    Deno.copyFileSync(
      `${dir}/c/${c.weightsManifest[0].paths[0]}`,
      `${dir}/b/${b.weightsManifest[0].paths[0]}`,
    );
    await assert.rejects(
      () => loadModel(`${dir}/b`),
      /the weights hold 340 bytes, but model\.json describes 204 \(2 tensors\)/,
    );
  } finally {
    small.dispose();
    big.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveModel() will not replace a model.json it did not write, nor remove files that one names; loadModel() follows no link", async () => {
  const dir = await Deno.makeTempDir();
  const model = net(3);
  try {
    // a tfjs-converter model, with a forged claim
    Deno.writeTextFileSync(
      `${dir}/model.json`,
      JSON.stringify({
        convertedBy: "someone",
        weightsManifest: [{ paths: ["group1-shard1of1.bin"] }],
      }),
    );
    await assert.rejects(() => saveModel(model, dir), /holds a model\.json the kit did not write/);
    Deno.writeTextFileSync(
      `${dir}/model.json`,
      JSON.stringify({
        convertedBy: "convkit",
        weightsManifest: [{ paths: ["weights.bin"], weights: [] }],
      }),
    );
    Deno.writeTextFileSync(`${dir}/weights.bin`, "the user's own file");
    await saveModel(model, dir);
    assert.equal(Deno.readTextFileSync(`${dir}/weights.bin`), "the user's own file"); // not the kit's name
    // a weights file replaced by a link to a file elsewhere
    const name = JSON.parse(Deno.readTextFileSync(`${dir}/model.json`)).weightsManifest[0].paths[0];
    Deno.writeFileSync(`${dir}/../outside.bin`, new Uint8Array(204));
    Deno.removeSync(`${dir}/${name}`);
    Deno.symlinkSync(`${dir}/../outside.bin`, `${dir}/${name}`);
    await assert.rejects(() => loadModel(dir), /is not a plain file \(a link\?\)/);
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}/../outside.bin`).catch(() => {});
  }
});
