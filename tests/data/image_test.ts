import assert from "node:assert/strict";
import { decodeImage, ImageError, loadImage, orientImage } from "convkit/data/image.ts";
import { zlibSync } from "fflate";
import jpeg from "jpeg-js";

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

/** A PNG from chunks, CRCs included (PNG spec, 5.3: CRC-32 over type and data). */
function pngOf(chunks: [string, Uint8Array][]): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const parts: number[] = [137, 80, 78, 71, 13, 10, 26, 10];
  for (const [type, data] of chunks) {
    const body = [...new TextEncoder().encode(type), ...data];
    let crc = 0xffffffff;
    for (const b of body) crc = crcTable[(crc ^ b) & 255] ^ (crc >>> 8);
    const be = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    parts.push(...be(data.length), ...body, ...be((crc ^ 0xffffffff) >>> 0));
  }
  return new Uint8Array(parts);
}
const ihdr = (w: number, h: number, depth: number, colour: number) =>
  new Uint8Array([
    ...[w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255],
    ...[h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255],
    depth,
    colour,
    0,
    0,
    0,
  ]);

Deno.test("decodeImage() stops a PNG whose data inflate beyond its declared size (a decompression bomb)", () => {
  // declared 1x1 grey: 2 bytes of image data; the stream inflates to 50 MB of zeros (~50 KB on disk)
  const bomb = pngOf([
    ["IHDR", ihdr(1, 1, 8, 0)],
    ["IDAT", zlibSync(new Uint8Array(50e6), { level: 9 })],
    ["IEND", new Uint8Array()],
  ]);
  assert.ok(bomb.length < 100_000);
  assert.throws(
    () => decodeImage(bomb, "bomb.png"),
    (e) =>
      e instanceof ImageError && e.kind === "format" &&
      /inflate to more than the 16 bytes/.test(e.message),
  );
  // a second header cannot take a 1x1 image past the pixel limit either
  const two = pngOf([["IHDR", ihdr(1, 1, 8, 0)], ["IHDR", ihdr(8000, 8000, 8, 0)]]);
  assert.throws(() => decodeImage(two, "two.png"), /a second IHDR/);
  assert.throws(() => decodeImage(pngOf([["IHDR", ihdr(0, 5, 8, 0)]]), "w0.png"), /size is 0x5/);
});

Deno.test("decodeImage() reads 1-, 2- and 4-bit grey PNGs (pixels packed several to a byte)", () => {
  // one row of 4 pixels: 1-bit 1,0,1,1 (0b1011_0000); 2-bit 3,0,1,2 (0b11_00_01_10); 4-bit 15,0,5,10
  for (
    const [depth, row, grey] of [
      [1, [0b1011_0000], [255, 0, 255, 255]],
      [2, [0b11_00_01_10], [255, 0, 85, 170]],
      [4, [0xf0, 0x5a], [255, 0, 85, 170]],
    ] as const
  ) {
    const png = pngOf([
      ["IHDR", ihdr(4, 1, depth, 0)],
      ["IDAT", zlibSync(new Uint8Array([0, ...row]))], // filter byte 0, then the row
      ["IEND", new Uint8Array()],
    ]);
    const img = decodeImage(png, `grey${depth}.png`);
    assert.deepEqual([...img.data], grey.flatMap((v) => [v, v, v]), `${depth}-bit`);
  }
});

Deno.test("decodeImage() reads a phone's 12-megapixel JPEG (4032x3024)", () => {
  const w = 4032, h = 3024, rgba = new Uint8Array(w * h * 4).fill(200);
  const img = decodeImage(jpeg.encode({ data: rgba, width: w, height: h }, 50).data, "phone.jpg");
  assert.deepEqual(img.shape, [1, h, w, 3]);
  assert.ok(Math.abs(img.data[0] - 200) <= 2);
});

Deno.test("orientImage() turns each of the 8 EXIF orientations upright (hand-derived on a 2x3 image)", () => {
  const img = { data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3, 1] };
  const upright: Record<number, [number[], number[]]> = {
    1: [[1, 2, 3, 4, 5, 6], [2, 3]],
    2: [[3, 2, 1, 6, 5, 4], [2, 3]], // mirrored
    3: [[6, 5, 4, 3, 2, 1], [2, 3]], // turned 180
    4: [[4, 5, 6, 1, 2, 3], [2, 3]], // upside down
    5: [[1, 4, 2, 5, 3, 6], [3, 2]], // transposed
    6: [[4, 1, 5, 2, 6, 3], [3, 2]], // turned 90 clockwise
    7: [[6, 3, 5, 2, 4, 1], [3, 2]], // transversed
    8: [[3, 6, 2, 5, 1, 4], [3, 2]], // turned 90 counter-clockwise
  };
  for (const [o, [data, [h, w]]] of Object.entries(upright)) {
    const r = orientImage(img, Number(o));
    assert.deepEqual([...r.data], data, `orientation ${o}`);
    assert.deepEqual(r.shape, [1, h, w, 1], `orientation ${o}`);
  }
});

Deno.test("loadImage() stands a phone's portrait JPEG (EXIF orientation 6) upright", async () => {
  // a 4 wide, 6 high JPEG with an Exif APP1 segment right after SOI: big-endian TIFF, IFD0 with one
  // entry, tag 0x0112 (Orientation) SHORT 6
  const plain = jpeg.encode({ data: new Uint8Array(4 * 6 * 4).fill(128), width: 4, height: 6 }, 90)
    .data;
  const tiff = [
    0x4d,
    0x4d,
    0,
    42,
    0,
    0,
    0,
    8,
    0,
    1,
    0x01,
    0x12,
    0,
    3,
    0,
    0,
    0,
    1,
    0,
    6,
    0,
    0,
    0,
    0,
  ];
  const payload = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff, 0, 0];
  const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload];
  const path = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    await Deno.writeFile(
      path,
      new Uint8Array([...plain.subarray(0, 2), ...app1, ...plain.subarray(2)]),
    );
    assert.deepEqual((await loadImage(path)).shape, [1, 4, 6, 3]); // 6 wide, 4 high once upright
    await Deno.writeFile(path, plain);
    assert.deepEqual((await loadImage(path)).shape, [1, 6, 4, 3]); // no Exif: as stored
  } finally {
    await Deno.remove(path);
  }
});
