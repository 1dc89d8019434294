import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DownloadError, downloadVerified } from "convkit/data/download.ts";

// Servers on 127.0.0.1 only, started and stopped by each test.
const payload = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);
const sha = createHash("sha256").update(payload).digest("hex");

function serve(handler: (path: string) => Response) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handler(new URL(req.url).pathname),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

function leftovers(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name);
}

Deno.test("downloadVerified() writes a verified file and reports progress", async () => {
  const s = serve(() => new Response(payload));
  const dir = await Deno.makeTempDir();
  try {
    const seen: number[] = [];
    await downloadVerified(
      { url: `${s.url}/ok`, sha256: sha, size: payload.length },
      `${dir}/f.bin`,
      {
        onProgress: (b) => seen.push(b),
      },
    );
    assert.deepEqual(await Deno.readFile(`${dir}/f.bin`), payload);
    assert.equal(seen.at(-1), payload.length);
    assert.deepEqual(leftovers(dir), ["f.bin"]);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const [label, kind, handler, size] of [
    ["a wrong checksum", "checksum", () => new Response(payload.map((v) => v ^ 1)), payload.length],
    ["an HTTP error", "http", () => new Response("gone", { status: 404 }), payload.length],
    ["a short file", "truncated", () => new Response(payload.subarray(0, 1000)), payload.length],
  ] as const
) {
  Deno.test(`downloadVerified() leaves nothing behind on ${label}`, async () => {
    const s = serve(handler);
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        () => downloadVerified({ url: `${s.url}/x`, sha256: sha, size }, `${dir}/f.bin`),
        (e: unknown) =>
          e instanceof DownloadError && e.kind === kind && /nothing was written/.test(e.message),
      );
      assert.deepEqual(leftovers(dir), []);
    } finally {
      await s.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("downloadVerified() leaves nothing behind when the connection breaks mid-transfer", async () => {
  // a raw server that promises 200,000 bytes, sends 1,000 and hangs up
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    await conn.write(
      new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`),
    );
    await conn.write(payload.subarray(0, 1000));
    conn.close();
  })();
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        downloadVerified(
          { url: `http://127.0.0.1:${port}/x`, sha256: sha, size: payload.length },
          `${dir}/f.bin`,
        ),
      (e: unknown) =>
        e instanceof DownloadError && (e.kind === "network" || e.kind === "truncated"),
    );
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await serving;
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadVerified() reports an unreachable server as a network error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => downloadVerified({ url: `http://127.0.0.1:${port}/x`, sha256: sha }, `${dir}/f.bin`),
      (e: unknown) =>
        e instanceof DownloadError && e.kind === "network" && /could not reach/.test(e.message),
    );
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
