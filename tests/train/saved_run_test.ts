import assert from "node:assert/strict";
import { tfjsModel } from "convkit/models/tfjs.ts";
import { setBackend, tf } from "convkit/tf/backend.ts";
import { loadRun, savedModelDir, saveRun } from "convkit/train/saved_run.ts";
import { seedWeights } from "convkit/train/trainer.ts";

await setBackend("cpu");

const net = (filters: number) =>
  tfjsModel({
    name: "net",
    input: [6, 6, 1],
    layers: [
      { kind: "conv", name: "conv", filters, size: 3 },
      { kind: "fc", name: "fc", units: 3 },
    ],
  }, { logits: true });
const recipe = { spec: "net", epochs: 4, data: { name: "digits", n: 100 } };
const history = [{
  epoch: 1,
  loss: 1.5,
  trainAcc: 0.5,
  valAcc: 0.4,
  lr: 1e-3,
  seconds: 2,
  imagesPerSecond: 50,
}];

async function withDir(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await f(`${dir}/run`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadRun() gives back the saved model (same outputs) and history for the same recipe", async () => {
  await withDir(async (dir) => {
    const model = net(2);
    seedWeights(model, 3);
    await saveRun(dir, model, { recipe, history, best: history[0] });
    // the recipe's keys in another order are the same recipe
    const r = await loadRun(dir, net(2), {
      data: { n: 100, name: "digits" },
      epochs: 4,
      spec: "net",
    });
    assert.ok(r.model, r.reason);
    assert.match(r.reason, /loaded the run saved in .* \(1 epochs\)/);
    assert.deepEqual(r.record!.history, history);
    assert.deepEqual(r.record!.best, history[0]);
    const x = tf.randomNormal([2, 6, 6, 1], 0, 1, "float32", 7);
    const a = await (model.predict(x) as tf.Tensor).data(),
      b = await (r.model.predict(x) as tf.Tensor).data();
    assert.deepEqual([...b], [...a]);
    model.dispose();
    r.model.dispose();
  });
});

Deno.test("loadRun() refuses, with the reason, a missing run, another recipe and another network", async () => {
  await withDir(async (dir) => {
    let r = await loadRun(dir, net(2), recipe);
    assert.equal(r.model, undefined);
    assert.match(r.reason, /no saved run in/);
    const model = net(2);
    await saveRun(dir, model, { recipe, history });
    r = await loadRun(dir, net(2), { ...recipe, epochs: 80 });
    assert.equal(r.model, undefined);
    assert.match(r.reason, /made with another epochs than this one/);
    // an older network: 2 filters saved, 4 in the notebook now
    r = await loadRun(dir, net(4), recipe);
    assert.equal(r.model, undefined);
    assert.match(
      r.reason,
      /is another network \(saved: Conv2D \[3,3,1,2\] \[2\]; this notebook's: Conv2D \[3,3,1,4\] \[4\]\)/,
    );
    model.dispose();
  });
});

Deno.test("loadRun() refuses a save stopped half-way and damaged weights, without throwing", async () => {
  await withDir(async (dir) => {
    const model = net(2);
    await saveRun(dir, model, { recipe, history });
    // weights cut short
    const w = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("weights-"))!.name;
    Deno.writeFileSync(`${dir}/${w}`, Deno.readFileSync(`${dir}/${w}`).subarray(0, 10));
    let r = await loadRun(dir, net(2), recipe);
    assert.equal(r.model, undefined);
    assert.match(r.reason, /cannot be loaded .*weights hold 10 bytes/);
    // a save stopped before run.json was written (saveRun removes it first)
    await saveRun(dir, model, { recipe, history });
    Deno.removeSync(`${dir}/run.json`);
    r = await loadRun(dir, net(2), recipe);
    assert.match(r.reason, /no saved run/);
    Deno.writeTextFileSync(`${dir}/run.json`, "{ half");
    r = await loadRun(dir, net(2), recipe);
    assert.match(r.reason, /unreadable/);
    model.dispose();
  });
});

Deno.test("savedModelDir() is build/models/NAME in the kit, or under $CONVKIT_MODELS", () => {
  const root = new URL("../../", import.meta.url).pathname;
  const old = Deno.env.get("CONVKIT_MODELS");
  Deno.env.delete("CONVKIT_MODELS");
  try {
    assert.equal(savedModelDir("lenet5-mnist"), `${root}build/models/lenet5-mnist`);
    Deno.env.set("CONVKIT_MODELS", "/tmp/m/");
    assert.equal(savedModelDir("x"), "/tmp/m/x");
    assert.throws(() => savedModelDir("../x"), /not a plain folder name/);
  } finally {
    if (old === undefined) Deno.env.delete("CONVKIT_MODELS");
    else Deno.env.set("CONVKIT_MODELS", old);
  }
});

Deno.test("loadRun() gives a reason, never throws or hangs, for run.json null, a link to /dev/zero, a FIFO, or changed weights", async () => {
  await withDir(async (dir) => {
    const model = net(2);
    seedWeights(model, 5);
    await saveRun(dir, model, { recipe, history, best: history[0] });
    const saved = await Deno.readTextFile(`${dir}/run.json`);
    await Deno.writeTextFile(`${dir}/run.json`, "null");
    assert.match((await loadRun(dir, net(2), recipe)).reason, /unreadable \(not a JSON object\)/);
    await Deno.remove(`${dir}/run.json`);
    await Deno.symlink("/dev/zero", `${dir}/run.json`);
    assert.match((await loadRun(dir, net(2), recipe)).reason, /not a plain file/);
    await Deno.remove(`${dir}/run.json`);
    await new Deno.Command("mkfifo", { args: [`${dir}/run.json`] }).output();
    assert.match((await loadRun(dir, net(2), recipe)).reason, /not a plain file/);
    await Deno.remove(`${dir}/run.json`);
    await Deno.writeTextFile(`${dir}/run.json`, saved);
    // the weights file is named by its hash: one value changed (here to NaN) is refused
    const weights = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("weights-"))!.name;
    const bytes = await Deno.readFile(`${dir}/${weights}`);
    new DataView(bytes.buffer).setFloat32(0, NaN, true);
    await Deno.writeFile(`${dir}/${weights}`, bytes);
    const r = await loadRun(dir, net(2), recipe);
    assert.equal(r.model, undefined);
    assert.match(r.reason, /does not match the hash in its name/);
    model.dispose();
  });
});
