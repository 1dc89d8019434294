/**
 * One's own images: a PNG or JPEG file, from a path or a URL, decoded into a kit tensor `[1, H, W, 3]`
 * with values 0..255 (the scale of the dataset bytes). Decoding is npm's: `fast-png` (image-js) and
 * `jpeg-js`. Grey images get three equal channels; an alpha channel is composited over white, as an
 * image viewer shows a transparent PNG on a white page; 16-bit PNGs are scaled to 8 bits (v / 257); a
 * JPEG is turned upright by its EXIF orientation (npm `exifr`) when loaded.
 *
 * Limits, each an `ImageError` that says which: a file or a download over `IMAGE_MAX_BYTES`, an image
 * over `IMAGE_MAX_PIXELS` (checked from the header, before decoding), a server that does not answer in
 * `IMAGE_TIMEOUT_S` or sends nothing for that long.
 *
 * @module
 */
import { convertIndexedToRgb, decode as decodePng, encode as encodePng } from "fast-png";
import { Unzlib } from "fflate";
import exifr from "exifr";
import jpeg from "jpeg-js";
import type { Tensor } from "../tensor.ts";

/** Why an image could not be loaded. */
export type ImageErrorKind = "missing" | "format" | "too-large" | "http" | "network";

/** An image that could not be loaded; `kind` says why. */
export class ImageError extends Error {
  constructor(message: string, readonly kind: ImageErrorKind) {
    super(message);
    this.name = "ImageError";
  }
}

/** The largest file or download read: 32 MiB (a 24-megapixel JPEG is about 10 MiB). */
export const IMAGE_MAX_BYTES = 32 * 2 ** 20;
/**
 * The most pixels decoded: 24 megapixels (a phone's 12 MP photo fits twice). As the kit's float64
 * tensor that is 576 MB, and fitting it to a net copies it once more: more would not fit beside a
 * kernel in a student's 2 GB server.
 */
export const IMAGE_MAX_PIXELS = 24e6;
/** Seconds a URL may take to answer, and between two pieces of data. */
export const IMAGE_TIMEOUT_S = 30;
/** Seconds a whole download may take: a server that trickles data ends here. */
export const IMAGE_DOWNLOAD_S = 120;

/** Limits of `decodeImage` and `loadImage`. */
export interface ImageLimits {
  /** Default `IMAGE_MAX_BYTES`. */
  maxBytes?: number;
  /** Default `IMAGE_MAX_PIXELS`. */
  maxPixels?: number;
  /** For URLs; default `IMAGE_TIMEOUT_S`. */
  timeoutS?: number;
  /** For URLs, the whole download; default `IMAGE_DOWNLOAD_S`. */
  downloadS?: number;
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** The format of image bytes, from their first bytes ("magic numbers"), or undefined. */
export function sniffFormat(bytes: Uint8Array): "png" | "jpeg" | undefined {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  return undefined;
}

/** What the first bytes of an unsupported file suggest it is, for the error message. */
function guessOther(bytes: Uint8Array): string {
  const ascii = new TextDecoder("latin1").decode(bytes.subarray(0, 16));
  if (ascii.startsWith("GIF8")) return "a GIF";
  if (ascii.startsWith("RIFF") && ascii.slice(8, 12) === "WEBP") return "a WebP image";
  if (ascii.startsWith("BM")) return "a BMP image";
  if (ascii.slice(4, 12) === "ftypheic" || ascii.slice(4, 12) === "ftypmif1") {
    return "a HEIC/HEIF photo";
  }
  if (/^\s*</.test(ascii)) return "text (HTML or SVG?)";
  return "not a PNG or JPEG";
}

/** Samples per pixel of each PNG colour type (PNG spec, 11.2.2 IHDR). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Checks a PNG's structure before it is decoded, as a decoder would not: the first chunk is the one
 * IHDR (PNG spec, 5.6), its size is within `maxPixels`, and its image data inflate to no more than
 * that size needs (each row one filter byte plus its samples; Adam7 interlacing adds at most one
 * filter byte per row of each of 7 passes). A "decompression bomb" (a small file whose data inflate to
 * gigabytes) is stopped while it inflates, without holding what it inflated.
 *
 * @returns `[width, height]`
 * @throws {ImageError} `format` for a damaged structure, `too-large` beyond `maxPixels`
 */
function checkPng(
  bytes: Uint8Array,
  name: string,
  maxPixels: number,
  tooMany: (h: number, w: number) => ImageError,
): [number, number] {
  const damaged = (why: string) => new ImageError(`${name}: a damaged PNG (${why})`, "format");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) => String.fromCharCode(...bytes.subarray(at + 4, at + 8));
  if (bytes.length < 33 || type(8) !== "IHDR" || v.getUint32(8) !== 13) {
    throw damaged("it does not start with its IHDR header");
  }
  const w = v.getUint32(16), h = v.getUint32(20), depth = bytes[24], colour = bytes[25];
  if (w === 0 || h === 0) throw damaged(`its size is ${w}x${h}`);
  if (w * h > maxPixels) throw tooMany(h, w);
  const channels = PNG_CHANNELS[colour];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) {
    throw damaged(`colour type ${colour} at bit depth ${depth}`);
  }
  const rowBytes = Math.ceil(w * channels * depth / 8);
  const most = h * (1 + rowBytes) + 7 * (h + 1); // Adam7: at most one more filter byte a row per pass
  let inflated = 0;
  const inflate = new Unzlib((chunk) => {
    inflated += chunk.length;
    if (inflated > most) {
      throw damaged(
        `its image data inflate to more than the ${most} bytes a ${w}x${h} image needs`,
      );
    }
  });
  let at = 8, headers = 0;
  try {
    while (at + 12 <= bytes.length) {
      const length = v.getUint32(at), t = type(at);
      if (at + 12 + length > bytes.length) break; // cut short: the decoder says so
      if (t === "IHDR" && ++headers > 1) throw damaged("a second IHDR header");
      if (t === "IDAT") inflate.push(bytes.subarray(at + 8, at + 8 + length));
      if (t === "IEND") break;
      at += 12 + length;
    }
    inflate.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    // a damaged stream: the decoder says so below, in its words
  }
  return [w, h];
}

/** Samples packed below 8 bits a sample (PNG bit depths 1, 2, 4; rows start on a byte) as one each. */
function unpackBits(data: Uint8Array, h: number, samples: number, depth: number): Uint8Array {
  const out = new Uint8Array(h * samples), rowBytes = Math.ceil(samples * depth / 8);
  const mask = (1 << depth) - 1;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < samples; j++) {
      const bit = j * depth;
      out[i * samples + j] = (data[i * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** Pixels `h*w*c` (any bit depth, `c` 1..4) as RGB bytes, alpha composited over white. */
function toRgb(
  data: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  max: number,
): Float64Array {
  const out = new Float64Array(h * w * 3);
  const k = 255 / max;
  for (let p = 0; p < h * w; p++) {
    const s = p * c;
    const rgb = c >= 3
      ? [data[s] * k, data[s + 1] * k, data[s + 2] * k]
      : [data[s] * k, data[s] * k, data[s] * k];
    const alpha = c === 2 || c === 4 ? data[s + c - 1] / max : 1;
    for (let ch = 0; ch < 3; ch++) {
      out[p * 3 + ch] = Math.round(alpha * rgb[ch] + (1 - alpha) * 255);
    }
  }
  return out;
}

/**
 * Decodes PNG or JPEG bytes into `[1, H, W, 3]`, values 0..255 (whole numbers).
 *
 * @param name what to call the image in errors (its path or URL)
 * @throws {ImageError} `format` for bytes that are not a PNG or JPEG (the message guesses what they are)
 *   or a damaged file; `too-large` beyond `maxBytes` or `maxPixels`
 * @example
 * ```ts
 * import { decodeImage } from "convkit/data/image.ts";
 * import { encodePng } from "convkit/plot/png.ts";
 * import assert from "node:assert/strict";
 * // one red pixel and one half-transparent black one (over white: 255 * 0.5 -> 128)
 * const png = await encodePng(new Uint8Array([255, 0, 0, 255, 0, 0, 0, 127]), 2, 1);
 * const img = decodeImage(png);
 * assert.deepEqual(img.shape, [1, 1, 2, 3]);
 * assert.deepEqual([...img.data], [255, 0, 0, 128, 128, 128]);
 * ```
 */
export function decodeImage(bytes: Uint8Array, name = "image", limits: ImageLimits = {}): Tensor {
  const maxBytes = limits.maxBytes ?? IMAGE_MAX_BYTES,
    maxPixels = limits.maxPixels ?? IMAGE_MAX_PIXELS;
  if (bytes.length > maxBytes) {
    throw new ImageError(
      `${name}: ${bytes.length} bytes is over the ${maxBytes}-byte limit`,
      "too-large",
    );
  }
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageError(
      `${name}: ${guessOther(bytes)}: only PNG and JPEG are read (convert it, e.g. save as PNG)`,
      "format",
    );
  }
  const tooMany = (h: number, w: number) =>
    new ImageError(
      `${name}: ${w}x${h} is ${(w * h / 1e6).toFixed(1)} megapixels, over the ${
        maxPixels / 1e6
      }-megapixel limit: make it smaller first`,
      "too-large",
    );
  if (format === "png") {
    checkPng(bytes, name, maxPixels, tooMany);
    let png;
    try {
      png = decodePng(bytes);
    } catch (e) {
      throw new ImageError(`${name}: a damaged PNG (${(e as Error).message})`, "format");
    }
    if (png.palette) {
      const rgb = convertIndexedToRgb(png);
      const c = rgb.length / (png.width * png.height);
      return {
        data: toRgb(rgb, png.height, png.width, c, 255),
        shape: [1, png.height, png.width, 3],
      };
    }
    const max = png.depth === 16 ? 65535 : 2 ** png.depth - 1;
    // 1-, 2- and 4-bit grey come packed, several pixels a byte
    const samples = png.depth < 8
      ? unpackBits(png.data as Uint8Array, png.height, png.width * png.channels, png.depth)
      : png.data;
    return {
      data: toRgb(samples, png.height, png.width, png.channels, max),
      shape: [1, png.height, png.width, 3],
    };
  }
  let img;
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: maxPixels / 1e6,
      // jpeg-js counts its own buffers too: ~12 bytes a pixel for a 4:2:0 colour photo (a 12 MP photo
      // failed at 4 bytes a pixel); the pixel limit above is the one that applies
      maxMemoryUsageInMB: Math.ceil(maxPixels * 16 / 2 ** 20) + 64,
    });
  } catch (e) {
    const m = (e as Error).message ?? String(e);
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(m)) {
      throw new ImageError(
        `${name}: the JPEG is over the ${maxPixels / 1e6}-megapixel limit: make it smaller first`,
        "too-large",
      );
    }
    throw new ImageError(`${name}: a damaged JPEG (${m})`, "format");
  }
  return {
    data: Float64Array.from(img.data as Uint8Array),
    shape: [1, img.height, img.width, 3],
  };
}

/**
 * Reads a response body, stopping beyond `maxBytes`, when no data comes for `timeoutS`, and when the
 * whole takes over `downloadS`.
 */
async function readCapped(
  res: Response,
  url: string,
  maxBytes: number,
  timeoutS: number,
  downloadS: number,
): Promise<Uint8Array> {
  const length = Number(res.headers.get("content-length") ?? NaN);
  if (length > maxBytes) {
    await res.body?.cancel();
    throw new ImageError(
      `${url}: ${length} bytes is over the ${maxBytes}-byte limit`,
      "too-large",
    );
  }
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  const deadline = Date.now() + downloadS * 1000;
  try {
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const left = deadline - Date.now();
      const idle = new Promise<never>((_, reject) => {
        timer = left < timeoutS * 1000
          ? setTimeout(
            () =>
              reject(
                new ImageError(`${url}: the download took over ${downloadS} s`, "network"),
              ),
            Math.max(0, left),
          )
          : setTimeout(
            () => reject(new ImageError(`${url}: no data for ${timeoutS} s`, "network")),
            timeoutS * 1000,
          );
      });
      const r = await Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
      if (r.done) break;
      bytes += r.value.length;
      if (bytes > maxBytes) {
        throw new ImageError(
          `${url}: more than the ${maxBytes}-byte limit arrived`,
          "too-large",
        );
      }
      parts.push(r.value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof ImageError) throw e;
    throw new ImageError(
      `${url}: the transfer broke off (${(e as Error).message})`,
      "network",
    );
  }
  const out = new Uint8Array(bytes);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * An image `[1, H, W, C]` turned upright by its EXIF orientation `o` (1..8, as the camera wrote it in
 * the JPEG's Exif IFD0 tag 0x0112: 1 upright, 2 mirrored, 3 turned 180°, 4 mirrored upside down, 5
 * transposed, 6 to be turned 90° clockwise, 7 transversed, 8 to be turned 90° counter-clockwise; TIFF
 * 6.0 / Exif 2.3 "Orientation"). 5 to 8 swap H and W. Other values give the image back.
 *
 * @example
 * ```ts
 * import { orientImage } from "convkit/data/image.ts";
 * import assert from "node:assert/strict";
 * // [[a b c], [d e f]] turned 90° clockwise is [[d a], [e b], [f c]]
 * const img = { data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3, 1] };
 * assert.deepEqual([...orientImage(img, 6).data], [4, 1, 5, 2, 6, 3]);
 * ```
 */
export function orientImage(img: Tensor, o: number): Tensor {
  const [, h, w, c] = img.shape;
  if (!(Number.isInteger(o) && o >= 2 && o <= 8)) return img;
  const swap = o >= 5;
  const [H, W] = swap ? [w, h] : [h, w];
  // the source row and column of the upright pixel (i, j)
  const from: (i: number, j: number) => [number, number] = {
    2: (i: number, j: number) => [i, w - 1 - j],
    3: (i: number, j: number) => [h - 1 - i, w - 1 - j],
    4: (i: number, j: number) => [h - 1 - i, j],
    5: (i: number, j: number) => [j, i],
    6: (i: number, j: number) => [h - 1 - j, i],
    7: (i: number, j: number) => [h - 1 - j, w - 1 - i],
    8: (i: number, j: number) => [j, w - 1 - i],
  }[o] as (i: number, j: number) => [number, number];
  const out = new Float64Array(img.data.length);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const [r, col] = from(i, j);
      for (let k = 0; k < c; k++) out[(i * W + j) * c + k] = img.data[(r * w + col) * c + k];
    }
  }
  return { data: out, shape: [1, H, W, c] };
}

/**
 * Loads a PNG or JPEG from a file path or an `http(s)://` URL as `[1, H, W, 3]`, values 0..255. A
 * JPEG is turned upright by its EXIF orientation (read with npm `exifr`), as photo viewers show it: a
 * phone's portrait photo is stored sideways with orientation 6.
 *
 * @param pathOrUrl a path (relative to the working directory: in a notebook, `notebooks/`) or a URL
 * @throws {ImageError} `missing` (no such file, or a folder), `http` (an error status), `network`
 *   (unreachable, no answer within `timeoutS`, broken off), `too-large`, `format` (see `decodeImage`)
 * @see ../../notebooks/17_cifar10_demo.ipynb
 */
export async function loadImage(pathOrUrl: string, limits: ImageLimits = {}): Promise<Tensor> {
  const maxBytes = limits.maxBytes ?? IMAGE_MAX_BYTES,
    timeoutS = limits.timeoutS ?? IMAGE_TIMEOUT_S;
  if (/^https?:\/\//i.test(pathOrUrl)) {
    let res: Response;
    const ctl = new AbortController();
    const timer = setTimeout(
      () => ctl.abort(new Error(`no answer within ${timeoutS} s`)),
      timeoutS * 1000,
    );
    try {
      res = await fetch(pathOrUrl, { signal: ctl.signal });
    } catch (e) {
      throw new ImageError(
        `could not reach ${pathOrUrl}: ${(e as Error).message}`,
        "network",
      );
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new ImageError(`${pathOrUrl} answered ${res.status} ${res.statusText}`, "http");
    }
    const body = await readCapped(
      res,
      pathOrUrl,
      maxBytes,
      timeoutS,
      limits.downloadS ?? IMAGE_DOWNLOAD_S,
    );
    return await upright(body, decodeImage(body, pathOrUrl, limits));
  }
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(pathOrUrl);
  } catch {
    throw new ImageError(
      `${pathOrUrl}: no such file (relative paths start in ${Deno.cwd()})`,
      "missing",
    );
  }
  if (!st.isFile) throw new ImageError(`${pathOrUrl} is not a file`, "missing");
  if (st.size > maxBytes) {
    throw new ImageError(
      `${pathOrUrl}: ${st.size} bytes is over the ${maxBytes}-byte limit`,
      "too-large",
    );
  }
  const bytes = await Deno.readFile(pathOrUrl);
  return await upright(bytes, decodeImage(bytes, pathOrUrl, limits));
}

/** The decoded image of `bytes` turned by its EXIF orientation (JPEG only; none read: as it is). */
async function upright(bytes: Uint8Array, img: Tensor): Promise<Tensor> {
  if (sniffFormat(bytes) !== "jpeg") return img;
  let o: number | undefined;
  try {
    o = await exifr.orientation(bytes);
  } catch { /* no or damaged Exif: the pixels as stored */ }
  return o ? orientImage(img, o) : img;
}

/**
 * Writes an image `[1, H, W, 1 or 3]` with values 0..255 (rounded, clamped) as a PNG file, e.g. a dataset
 * image to try `loadImage` on, or what the net sees after `fitImage`.
 *
 * @throws {RangeError} for another shape
 * @example
 * ```ts
 * import { loadImage, saveImage } from "convkit/data/image.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await saveImage(path, { data: Float64Array.from([0, 127.6, 300]), shape: [1, 1, 3, 1] });
 * assert.deepEqual([...(await loadImage(path)).data], [0, 0, 0, 128, 128, 128, 255, 255, 255]);
 * await Deno.remove(path);
 * ```
 */
export async function saveImage(path: string, img: Tensor): Promise<void> {
  const [n, h, w, c] = img.shape;
  if (img.shape.length !== 4 || n !== 1 || (c !== 1 && c !== 3)) {
    throw new RangeError(
      `saveImage: expected one image [1, H, W, 1 or 3], got [${img.shape.join(", ")}]`,
    );
  }
  const data = Uint8Array.from(img.data, (v) => Math.min(255, Math.max(0, Math.round(v))));
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(path, encodePng({ width: w, height: h, data, channels: c, depth: 8 }));
}
