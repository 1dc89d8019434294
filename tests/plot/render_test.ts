import assert from "node:assert/strict";
import { svgToPng } from "convkit/plot/render.ts";

const svg = (label: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="2" y="15">${label}</text></svg>`;

Deno.test("svgToPng() keeps each SVG it draws, numbered in order, when CONVKIT_KEEP_SVG names a folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "convkit_keep_svg_" });
  Deno.env.set("CONVKIT_KEEP_SVG", dir);
  try {
    await svgToPng(svg("a"));
    await svgToPng(svg("b"));
  } finally {
    Deno.env.delete("CONVKIT_KEEP_SVG");
  }
  try {
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    // numbering continues across the process (other tests may have drawn nothing, or something, before)
    assert.equal(files.length, 2);
    assert.ok(Number(files[1].slice(0, 3)) === Number(files[0].slice(0, 3)) + 1, files.join());
    assert.equal(await Deno.readTextFile(`${dir}/${files[0]}`), svg("a"));
    assert.equal(await Deno.readTextFile(`${dir}/${files[1]}`), svg("b"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
