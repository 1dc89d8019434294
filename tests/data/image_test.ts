import assert from "node:assert/strict";
import { decodeImage, ImageError, loadImage } from "convkit/data/image.ts";

// Fixtures written by PIL (tests/fixtures/make_images.py): the PNGs hold the hand-chosen values stated
// here; for the JPEGs PIL's own decode (libjpeg) is the reference, within a few levels (IDCTs differ).
const dir = new URL("../fixtures/images/", import.meta.url).pathname;
const expected = JSON.parse(Deno.readTextFileSync(`${dir}expected.json`));

async function rejectsWith(p: Promise<unknown>, kind: string, message: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected an ImageError, got ${e}`);
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("loadImage() decodes an RGB PNG written by PIL to its pixel values", async () => {
  const img = await loadImage(`${dir}rgb.png`);
  assert.deepEqual(img.shape, [1, 2, 3, 3]);
  assert.deepEqual(
    [...img.data],
    [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 128, 128, 128, 250, 251, 252],
  );
});

Deno.test("loadImage() gives grey three equal channels and composites alpha over white", async () => {
  // (100, opaque) -> 100; (0, transparent) -> white 255; (0, alpha 51/255 = 0.2) -> 0.8 * 255 = 204
  const img = await loadImage(`${dir}grey_alpha.png`);
  assert.deepEqual(img.shape, [1, 1, 3, 3]);
  assert.deepEqual([...img.data], [100, 100, 100, 255, 255, 255, 204, 204, 204]);
});

Deno.test("loadImage() reads a palette PNG and a 16-bit grey PNG", async () => {
  const p = await loadImage(`${dir}palette.png`);
  assert.deepEqual([...p.data], [255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0]);
  // 16-bit 0, 100 * 257, 65535 -> 8-bit 0, 100, 255
  const g = await loadImage(`${dir}grey16.png`);
  assert.deepEqual([...g.data], [0, 0, 0, 100, 100, 100, 255, 255, 255]);
});

for (const name of ["blocks.jpg", "ramp_grey.jpg"]) {
  Deno.test(`loadImage() decodes ${name} as PIL (libjpeg) does, within 3 levels`, async () => {
    const img = await loadImage(`${dir}${name}`);
    const ref = expected[name];
    const [h, w] = ref.shape;
    assert.deepEqual(img.shape, [1, h, w, 3]);
    const grey = ref.shape.length === 2;
    let worst = 0;
    for (let p = 0; p < h * w; p++) {
      for (let c = 0; c < 3; c++) {
        const want = grey ? ref.data[p] : ref.data[p * 3 + c];
        worst = Math.max(worst, Math.abs(img.data[p * 3 + c] - want));
      }
    }
    assert.ok(worst <= 3, `largest difference from PIL ${worst}`);
  });
}

Deno.test("loadImage() says what is wrong for a missing file, a folder and a GIF", async () => {
  await rejectsWith(loadImage(`${dir}nope.png`), "missing", /nope\.png: no such file/);
  await rejectsWith(loadImage(dir), "missing", /is not a file/);
  const gif = await Deno.makeTempFile({ suffix: ".gif" });
  try {
    await Deno.writeFile(gif, new TextEncoder().encode("GIF89a\x01\x00\x01\x00"));
    await rejectsWith(loadImage(gif), "format", /a GIF: only PNG and JPEG are read/);
  } finally {
    await Deno.remove(gif);
  }
});

Deno.test("decodeImage() refuses a cut-short PNG and JPEG as damaged", () => {
  const png = Deno.readFileSync(`${dir}rgb.png`), jpg = Deno.readFileSync(`${dir}blocks.jpg`);
  assert.throws(() => decodeImage(png.subarray(0, 40), "cut.png"), (e: unknown) => {
    return e instanceof ImageError && e.kind === "format" &&
      /cut\.png: a damaged PNG/.test(e.message);
  });
  assert.throws(() => decodeImage(jpg.subarray(0, 200), "cut.jpg"), (e: unknown) => {
    return e instanceof ImageError && e.kind === "format" && /cut\.jpg/.test(e.message);
  });
});

Deno.test("decodeImage() refuses images over the pixel and byte limits before decoding", () => {
  const png = Deno.readFileSync(`${dir}rgb.png`), jpg = Deno.readFileSync(`${dir}blocks.jpg`);
  // rgb.png is 3x2 = 6 pixels, blocks.jpg 16x16 = 256
  assert.throws(
    () => decodeImage(png, "rgb.png", { maxPixels: 5 }),
    (e: unknown) => e instanceof ImageError && e.kind === "too-large" && /3x2/.test(e.message),
  );
  assert.throws(
    () => decodeImage(jpg, "blocks.jpg", { maxPixels: 100 }),
    (e: unknown) => e instanceof ImageError && e.kind === "too-large",
  );
  assert.throws(
    () => decodeImage(png, "rgb.png", { maxBytes: 10 }),
    (e: unknown) => e instanceof ImageError && e.kind === "too-large" && /85 bytes/.test(e.message),
  );
  // a PNG header claiming 100000 x 100000 pixels: refused from the header, nothing allocated
  const huge = png.slice();
  new DataView(huge.buffer).setUint32(16, 100_000);
  new DataView(huge.buffer).setUint32(20, 100_000);
  assert.throws(() => decodeImage(huge, "huge.png"), /10000\.0 megapixels/);
});

Deno.test("loadImage() reads a URL, and reports HTTP errors, oversize bodies and a silent server", async () => {
  const png = Deno.readFileSync(`${dir}rgb.png`);
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/rgb.png") return new Response(png);
      if (path === "/big") return new Response(new Uint8Array(2000));
      if (path === "/silent") {
        // headers, then no data
        return new Response(new ReadableStream({ start() {} }));
      }
      return new Response("not here", { status: 404, statusText: "Not Found" });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const img = await loadImage(`${base}/rgb.png`);
    assert.deepEqual(img.shape, [1, 2, 3, 3]);
    assert.equal(img.data[5 * 3 + 2], 252);
    await rejectsWith(loadImage(`${base}/missing.png`), "http", /answered 404 Not Found/);
    await rejectsWith(loadImage(`${base}/big`, { maxBytes: 1000 }), "too-large", /1000-byte/);
    await rejectsWith(
      loadImage(`${base}/silent`, { timeoutS: 0.2 }),
      "network",
      /no data for 0\.2 s/,
    );
    await rejectsWith(loadImage("http://127.0.0.1:1/x.png"), "network", /could not reach/);
  } finally {
    ac.abort();
    await server.finished;
  }
});
