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

Deno.test("downloadVerified() stops at the pinned size when a server sends more, leaving nothing", async () => {
  // no Content-Length: 300 MB would follow; the pinned size is 200,000 bytes
  const s = serve(() =>
    new Response(
      new ReadableStream({
        pull(c) {
          c.enqueue(new Uint8Array(65_536));
        },
      }),
    )
  );
  const dir = await Deno.makeTempDir();
  try {
    let most = 0;
    await assert.rejects(
      () =>
        downloadVerified({ url: `${s.url}/x`, sha256: sha, size: payload.length }, `${dir}/f.bin`, {
          onProgress: (b) => most = Math.max(most, b),
        }),
      /more than the 200000 bytes expected/,
    );
    assert.ok(most <= payload.length, `${most} bytes were written`);
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadVerified() gives up on a server that sends a header and then nothing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let conn: Deno.Conn | undefined;
  const serving = (async () => {
    conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    await conn.write(
      new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`),
    );
    await conn.write(payload.subarray(0, 1000)); // then silence
  })();
  const dir = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    await assert.rejects(
      () =>
        downloadVerified(
          { url: `http://127.0.0.1:${port}/x`, sha256: sha, size: payload.length },
          `${dir}/f.bin`,
          { idleTimeoutS: 1 },
        ),
      /no data for 1 s/,
    );
    assert.ok(performance.now() - t0 < 10_000);
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await serving;
    conn?.close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadVerified() removes the .part file a killed download left", async () => {
  const s = serve(() => new Response(payload));
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/f.bin.part-999999999`, "left by a process that is gone");
    await downloadVerified(
      { url: `${s.url}/ok`, sha256: sha, size: payload.length },
      `${dir}/f.bin`,
    );
    assert.deepEqual(leftovers(dir), ["f.bin"]);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTarMembers() refuses a member that claims 1 GiB before buffering any of it", async () => {
  const header = new Uint8Array(512);
  const put = (s: string, at: number) => header.set(new TextEncoder().encode(s), at);
  put("cifar-10-batches-bin/data_batch_1.bin", 0);
  put((2 ** 30).toString(8).padStart(11, "0") + "\0", 124); // 1 GiB, in octal
  header[156] = "0".charCodeAt(0);
  const body = new Blob([header, new Uint8Array(1024)]).stream();
  const { readTarMembers } = await import("convkit/data/tar.ts");
  await assert.rejects(
    () => readTarMembers(body, () => true, { gzip: false, maxBytes: () => 30_730_000 }),
    /claims 1073741824 bytes, more than the 30730000 it may hold/,
  );
});

Deno.test("deno task data cifar10 --from with the path forgotten stops with a message, downloading nothing", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../tools/data.ts", import.meta.url).pathname,
      "cifar10",
      "--from",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { CONVKIT_DATA: await Deno.makeTempDir() },
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--from needs the path of the archive/);
});

Deno.test("downloadVerified() stopped by Ctrl+C (SIGINT) leaves no .part file", async () => {
  // a server that sends a little, then trickles: the download is under way when the signal comes
  const s = serve(() =>
    new Response(
      new ReadableStream({
        async pull(c) {
          await new Promise((r) => setTimeout(r, 200));
          c.enqueue(new Uint8Array(1000));
        },
      }),
    )
  );
  const dir = await Deno.makeTempDir();
  const root = new URL("../../", import.meta.url).pathname;
  const script = `${dir}/get.ts`;
  Deno.writeTextFileSync(
    script,
    `import { downloadVerified } from "${root}lib/data/download.ts";\n` +
      `await downloadVerified({ url: "${s.url}/slow", sha256: "${sha}", size: ${payload.length} }, "${dir}/f.bin");\n`,
  );
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${root}deno.json`, script],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100 && !leftovers(dir).some((n) => n.includes(".part-")); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(leftovers(dir).some((n) => n.includes(".part-")), "the download never started");
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 130);
    assert.deepEqual(leftovers(dir).filter((n) => n !== "get.ts"), []);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadVerified() gives up on a server that accepts and never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let conn: Deno.Conn | undefined;
  const serving = listener.accept().then((c) => conn = c);
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        downloadVerified({ url: `http://127.0.0.1:${port}/x`, sha256: sha }, `${dir}/f.bin`, {
          connectTimeoutS: 1,
        }),
      (e: unknown) => e instanceof DownloadError && /no answer within 1 s/.test(e.message),
    );
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await serving;
    conn?.close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
