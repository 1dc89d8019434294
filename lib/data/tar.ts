/**
 * Reading members of a (gzipped) tar archive as a stream, without unpacking it to disk.
 *
 * @module
 */

/**
 * Calls `want(name)` for each file in the archive and returns the contents of those it accepts.
 * `maxBytes(name)` bounds what a wanted member may claim in its header (default 512 MiB): a larger claim
 * is refused before a byte of it is buffered, so a small archive cannot make the reader hold gigabytes.
 *
 * @throws {RangeError} for a member whose header claims more than its bound, or an unreadable size
 * @throws {Error} for a truncated archive
 */
export async function readTarMembers(
  stream: ReadableStream<Uint8Array>,
  want: (name: string) => boolean,
  opts: { gzip?: boolean; maxBytes?: (name: string) => number } = {},
): Promise<Map<string, Uint8Array>> {
  const gunzip = new DecompressionStream("gzip") as unknown as TransformStream<
    Uint8Array,
    Uint8Array
  >;
  const input = opts.gzip === false ? stream : stream.pipeThrough(gunzip);
  const reader = input.getReader();
  const found = new Map<string, Uint8Array>();
  // the bytes read and not yet used, as the pieces they arrived in (no copy of the whole on each read)
  const pieces: Uint8Array[] = [];
  let buffered = 0, done = false;
  const need = async (n: number) => {
    while (buffered < n && !done) {
      const r = await reader.read();
      if (r.done) done = true;
      else {
        pieces.push(r.value);
        buffered += r.value.length;
      }
    }
    return buffered >= n;
  };
  /** The next n bytes (n <= buffered), removed from the pieces; copied only when `keep`. */
  const take = (n: number, keep: boolean): Uint8Array | undefined => {
    const out = keep ? new Uint8Array(n) : undefined;
    let got = 0;
    while (got < n) {
      const head = pieces[0], step = Math.min(head.length, n - got);
      out?.set(head.subarray(0, step), got);
      if (step === head.length) pieces.shift();
      else pieces[0] = head.subarray(step);
      got += step;
      buffered -= step;
    }
    return out;
  };
  const dec = new TextDecoder();
  const field = (b: Uint8Array, off: number, len: number) =>
    dec.decode(b.subarray(off, off + len)).replace(/\0.*$/s, "");
  while (await need(512)) {
    const header = take(512, true)!;
    if (header.every((v) => v === 0)) break; // end of archive
    const name = (field(header, 345, 155) ? field(header, 345, 155) + "/" : "") +
      field(header, 0, 100);
    const sizeField = field(header, 124, 12).trim();
    if (!/^[0-7]*$/.test(sizeField)) {
      throw new RangeError(
        `tar: ${name} has a size field that is not octal: ${JSON.stringify(sizeField)}`,
      );
    }
    const size = parseInt(sizeField || "0", 8);
    const type = String.fromCharCode(header[156]);
    const padded = Math.ceil(size / 512) * 512;
    const keep = (type === "0" || type === "\0") && want(name);
    if (keep) {
      const max = opts.maxBytes?.(name) ?? 512 * 2 ** 20;
      if (size > max) {
        throw new RangeError(
          `tar: ${name} claims ${size} bytes, more than the ${max} it may hold: not read`,
        );
      }
      if (!(await need(size))) {
        throw new Error(`tar: ${name} is truncated (${buffered} of ${size} bytes)`);
      }
      found.set(name, take(size, true)!);
    }
    // skip the (rest of the) member's data in pieces, so large unwanted members are never held whole
    let left = keep ? padded - size : padded;
    while (left > 0) {
      if (!(await need(1))) throw new Error(`tar: archive ends inside ${name}`);
      const step = Math.min(left, buffered);
      take(step, false);
      left -= step;
    }
  }
  await reader.cancel().catch(() => {});
  return found;
}
