/**
 * `deno task image-check [--context DIR] [--base IMAGE] [--fresh-base] [--keep]`: builds the
 * single-user image of deploy/Containerfile and runs the kit's notebook check inside it.
 *
 * 1. The build context (build/image/context, or `--context DIR` alone, to build elsewhere with
 *    docker or podman): the Containerfile, this Deno binary, the student edition
 *    (`deno task release`), its npm packages (`deno-cache/`, a DENO_DIR filled by `deno install`),
 *    deploy/kernel.json and deploy/convkit-first-start.
 * 2. The base: `--base IMAGE` (e.g. docker.io/library/debian:bookworm-slim where a registry is
 *    reachable); by default `localhost/convkit-bookworm:min`, made once by
 *    `debootstrap --variant=minbase bookworm` and `podman import` (`--fresh-base` makes it again).
 * 3. `podman build --isolation=chroot` (runs where `podman run` cannot: no cgroups or rlimits needed).
 * 4. The check, inside the image's file system (`podman mount`, then chroot with /proc and /dev
 *    bound, as the image's user jovyan, uid 1000, with no network): jupyterhub-singleuser starts
 *    its Python side (`--help-all`); convkit-first-start copies the edition once and never again; two
 *    notebooks (02, 15) run headless through Jupyter and the Deno kernel from the read-only npm cache.
 *
 * Installs podman and debootstrap with apt-get when run as root and they are missing; elsewhere it
 * says what is missing and exits 3 (the test then skips). Last line: `image check: passed` or
 * `image check: failed (...)`, with the seconds of each step.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { release } from "../grading/release.ts";

const root = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
  options: {
    context: { type: "string" },
    base: { type: "string" },
    "fresh-base": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const BASE = "localhost/convkit-bookworm:min";
const IMAGE = "localhost/convkit-singleuser:check";
const log = (m: string) => console.log(`[image-check] ${m}`);
const times: string[] = [];

async function sh(cmd: string, args: string[], opts: { quiet?: boolean; cwd?: string } = {}) {
  try {
    const r = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      stdin: "null",
      stdout: opts.quiet ? "piped" : "inherit",
      stderr: opts.quiet ? "piped" : "inherit",
    }).output();
    const dec = new TextDecoder();
    return {
      code: r.code,
      out: opts.quiet ? dec.decode(r.stdout).trim() : "",
      err: opts.quiet ? dec.decode(r.stderr).trim() : "",
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: 127, out: "", err: `${cmd}: not found` };
    throw e;
  }
}

async function must(
  cmd: string,
  args: string[],
  what: string,
  opts: { quiet?: boolean; cwd?: string } = {},
) {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code}): ${cmd} ${args.join(" ")}\n${r.err}`);
  }
  return r.out;
}

async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  log(name);
  const r = await f();
  times.push(`${name.split(":")[0]} ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return r;
}

/** Writes the build context into `dir`. */
async function makeContext(dir: string) {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  Deno.mkdirSync(dir, { recursive: true });
  for (const f of ["Containerfile", "kernel.json", "convkit-first-start"]) {
    Deno.copyFileSync(`${root}deploy/${f}`, `${dir}/${f}`);
  }
  Deno.chmodSync(`${dir}/convkit-first-start`, 0o755);
  Deno.copyFileSync(Deno.execPath(), `${dir}/deno`);
  Deno.chmodSync(`${dir}/deno`, 0o755);
  await release(`${dir}/edition`, { force: true });
  // the npm packages, fetched here (where the registry and its certificates work) for the image
  for (const args of [["install"], ["cache", "lib/mod.ts", "grading/check.ts"]]) {
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: `${dir}/edition`,
      env: { DENO_DIR: `${dir}/deno-cache` },
      stdin: "null",
    }).output();
    if (!r.success) throw new Error(`deno ${args.join(" ")} in ${dir}/edition failed`);
  }
}

async function ensureTools(): Promise<boolean> {
  const missing = [];
  for (const t of ["podman", "debootstrap"]) {
    if ((await sh("sh", ["-c", `command -v ${t}`], { quiet: true })).code !== 0) missing.push(t);
  }
  if (!missing.length) return true;
  if (Deno.uid?.() === 0 && (await sh("apt-get", ["--version"], { quiet: true })).code === 0) {
    log(`installing ${missing.join(", ")} with apt-get`);
    await sh("apt-get", ["update", "-qq"]);
    if ((await sh("apt-get", ["install", "-y", "-qq", ...missing])).code === 0) return true;
  }
  console.log(
    `image check: skipped (${missing.join(" and ")} missing and not installable here: ` +
      `apt-get install -y podman debootstrap, as root)`,
  );
  return false;
}

if (values.context) {
  await makeContext(values.context);
  log(`build context written to ${values.context}`);
  Deno.exit(0);
}
if (Deno.build.os !== "linux" || Deno.uid?.() !== 0) {
  console.log("image check: skipped (needs Linux and root: debootstrap, podman mount and chroot)");
  Deno.exit(3);
}
if (!(await ensureTools())) Deno.exit(3);

const work = `${root}build/image`;
const mounts: string[] = [];
let container = "";
let failure = "";
try {
  const base = values.base ?? BASE;
  if (!values.base) {
    const exists = (await sh("podman", ["image", "exists", BASE], { quiet: true })).code === 0;
    if (!exists || values["fresh-base"]) {
      await step("base: debootstrap --variant=minbase bookworm", async () => {
        const rootfs = `${work}/rootfs`;
        await Deno.remove(rootfs, { recursive: true }).catch(() => {});
        await must(
          "debootstrap",
          ["--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian"],
          "debootstrap",
          { quiet: true },
        );
        await must(
          "sh",
          ["-c", `tar -C '${rootfs}' -c . | podman import - ${BASE}`],
          "podman import",
          { quiet: true },
        );
        await Deno.remove(rootfs, { recursive: true });
      });
    }
  }
  const ctx = `${work}/context`;
  await step("context: deno, the student edition, its npm cache", () => makeContext(ctx));
  await step(`build: podman build --isolation=chroot (base ${base})`, () =>
    must("podman", [
      "build",
      "--isolation=chroot",
      "--build-arg",
      `BASE=${base}`,
      "-t",
      IMAGE,
      "-f",
      `${ctx}/Containerfile`,
      ctx,
    ], "podman build"));

  await step("check: inside the image's file system, as jovyan, offline", async () => {
    container = await must("podman", ["create", IMAGE], "podman create", { quiet: true });
    const fs = await must("podman", ["mount", container], "podman mount", { quiet: true });
    for (const d of ["proc", "dev", "sys"]) {
      await must("mount", ["--rbind", `/${d}`, `${fs}/${d}`], `bind /${d}`, { quiet: true });
      mounts.unshift(`${fs}/${d}`);
    }
    Deno.mkdirSync(`${fs}/tmp`, { recursive: true, mode: 0o1777 });
    const dead = "http://127.0.0.1:9";
    const script = [
      "set -eu",
      `export HOME=/home/jovyan USER=jovyan PATH=/usr/local/bin:/usr/bin:/bin`,
      `export HTTP_PROXY=${dead} HTTPS_PROXY=${dead} http_proxy=${dead} https_proxy=${dead}`,
      "export DENO_DIR=/opt/convkit/deno NO_COLOR=1 JUPYTERHUB_SINGLEUSER_APP=notebook.notebookapp.NotebookApp",
      "cd $HOME",
      "jupyterhub-singleuser --help-all >/dev/null && echo 'jupyterhub-singleuser: ok'",
      "deno --version | head -1",
      "convkit-first-start && test -f convkit/notebooks/15_assignment.ipynb",
      "echo mine > convkit/lib/my_notes.txt && convkit-first-start && test -f convkit/lib/my_notes.txt",
      "echo 'first start: copied once, not overwritten at the next start'",
      "touch /opt/convkit/deno/probe 2>/dev/null && { echo 'the npm cache is writable by students'; exit 1; } || true",
      "cd convkit && deno task notebooks notebooks/02_spatial_arithmetic.ipynb notebooks/15_assignment.ipynb",
    ].join("\n");
    await must(
      "chroot",
      ["--userspec=1000:1000", fs, "/bin/bash", "-c", script],
      "the notebook check in the image",
    );
  });
} catch (e) {
  failure = e instanceof Error ? e.message : String(e);
  console.error(`[image-check] ${failure}`);
} finally {
  for (const m of mounts) await sh("umount", ["-R", "-l", m], { quiet: true });
  if (container) {
    await sh("podman", ["umount", container], { quiet: true });
    await sh("podman", ["rm", "-f", container], { quiet: true });
  }
  if (!values.keep) await Deno.remove(`${work}/context`, { recursive: true }).catch(() => {});
}
console.log(`[image-check] ${times.join(", ")}`);
console.log(failure ? `image check: failed (${failure.split("\n")[0]})` : "image check: passed");
Deno.exit(failure ? 1 : 0);
