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
  let buf = new Uint8Array(0);
  let done = false;
  const need = async (n: number) => {
    while (buf.length < n && !done) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        break;
      }
      const next = new Uint8Array(buf.length + r.value.length);
      next.set(buf);
      next.set(r.value, buf.length);
      buf = next;
    }
    return buf.length >= n;
  };
  const dec = new TextDecoder();
  const field = (b: Uint8Array, off: number, len: number) =>
    dec.decode(b.subarray(off, off + len)).replace(/\0.*$/s, "");
  while (await need(512)) {
    const header = buf.subarray(0, 512);
    if (header.every((v) => v === 0)) break; // end of archive
    const name = (field(header, 345, 155) ? field(header, 345, 155) + "/" : "") +
      field(header, 0, 100);
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156]);
    const padded = Math.ceil(size / 512) * 512;
    buf = buf.subarray(512);
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`tar: ${name} has no readable size`);
    }
    const keep = (type === "0" || type === "\0") && want(name);
    if (keep) {
      const max = opts.maxBytes?.(name) ?? 512 * 2 ** 20;
      if (size > max) {
        throw new RangeError(
          `tar: ${name} claims ${size} bytes, more than the ${max} it may hold: not read`,
        );
      }
      if (!(await need(size))) {
        throw new Error(`tar: ${name} is truncated (${buf.length} of ${size} bytes)`);
      }
      found.set(name, buf.slice(0, size));
    }
    // skip the member's data in pieces, so large unwanted members are never held whole
    let left = padded;
    while (left > 0) {
      if (buf.length === 0 && !(await need(1))) throw new Error(`tar: archive ends inside ${name}`);
      const step = Math.min(left, buf.length);
      buf = buf.subarray(step);
      left -= step;
    }
  }
  await reader.cancel().catch(() => {});
  return found;
}
