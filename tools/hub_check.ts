/**
 * `deno task hub-check [--users N] [--notebook PATH] [--no-grade] [--timeout S] [--json FILE] [--keep]
 * [--kill-server NAME]`:
 * a whole class on one JupyterHub, measured. Starts the hub of `deploy/jupyterhub_config.py` on
 * 127.0.0.1 (check mode: dummy authenticator, servers as this user with homes in a temporary folder),
 * creates N students and, all at once, starts each one's server (their first start copies the student
 * edition), opens a lecture notebook, saves ex1 into `lib/shape.ts`, runs the notebook's cells and
 * ex1's check cell in a Deno kernel over the websocket, and runs `deno task grade --only ex1` in a
 * terminal (tools/hub/student.ts). Kernels get no network (a dead proxy), so they run from the
 * Deno cache alone. Then it measures each student's memory (PSS of their server and kernel) and stops
 * everything it started, also on failure and Ctrl+C (tools/hub/procs.ts).
 *
 * Installs what is missing: Jupyter and Debian's jupyterhub (as root with apt-get), the npm
 * configurable-http-proxy@5 into build/hub/proxy (Debian's fails under Node 20).
 *
 * Last line: `N students: P passed, F failed; first output p50 Xs p95 Ys; memory per student Z MiB`.
 * Exits 1 when a student failed; each failure is printed with the student and the step.
 * `--kill-server student002` kills that student's server once it is ready (SIGKILL), to show that a
 * server that dies costs that student only (tests/tools/hub_check_test.ts).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { setup } from "./jupyter.ts";
import { findCifar10Archive } from "../lib/data/cifar10.ts";
import { release, stripSolutions } from "../grading/release.ts";
import { killRun, memAvailable, runProcesses, usageByUser } from "./hub/procs.ts";
import { runStudent, type StudentResult } from "./hub/student.ts";

const root = new URL("..", import.meta.url).pathname;
function options() {
  try {
    return parseArgs({
      args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
      options: {
        users: { type: "string", default: "10" },
        notebook: { type: "string", default: "notebooks/02_spatial_arithmetic.ipynb" },
        "no-grade": { type: "boolean", default: false },
        timeout: { type: "string", default: "900" },
        json: { type: "string" },
        keep: { type: "boolean", default: false },
        "kill-server": { type: "string" },
      },
    }).values;
  } catch (e) {
    // e.g. "--users -1": the value looks like an option
    console.error(`hub-check: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
const values = options();
/** A whole number written in decimal digits, in [low, high]; else undefined. */
const whole = (s: string, low: number, high: number) => {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  return n >= low && n <= high ? n : undefined;
};
// 200: far beyond what one machine holds (see deploy/README.md's sizing: ~2.5 students per GiB)
const users = whole(values.users, 1, 200);
if (users === undefined) {
  console.error(
    `--users must be a whole number from 1 to 200, not ${JSON.stringify(values.users)}`,
  );
  Deno.exit(2);
}
if (whole(values.timeout, 1, 86_400) === undefined) {
  console.error(
    `--timeout must be whole seconds from 1 to 86400, not ${JSON.stringify(values.timeout)}`,
  );
  Deno.exit(2);
}
const log = (m: string) => console.log(`[hub-check] ${m}`);

async function sh(cmd: string, args: string[], opts: Deno.CommandOptions = {}) {
  try {
    const r = await new Deno.Command(cmd, { args, stdin: "null", ...opts }).output();
    return { code: r.code, out: opts.stdout === "piped" ? new TextDecoder().decode(r.stdout) : "" };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: 127, out: "" };
    throw e;
  }
}

/** Debian's jupyterhub (apt-get as root when missing). */
async function ensureHub(): Promise<string> {
  if ((await sh("jupyterhub", ["--version"], { stdout: "piped", stderr: "null" })).code === 0) {
    return "jupyterhub";
  }
  if (Deno.uid?.() === 0) {
    log("jupyterhub is missing; installing Debian's jupyterhub");
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await sh("apt-get", ["update", "-qq"], { env });
    const r = await sh("apt-get", ["install", "-y", "-qq", "jupyterhub", "npm"], { env });
    if (r.code === 0) return "jupyterhub";
  }
  throw new Error("jupyterhub is missing: sudo apt-get install -y jupyterhub npm");
}

/** configurable-http-proxy@5 from npm in build/hub/proxy. */
async function ensureProxy(): Promise<string> {
  const dir = `${root}build/hub/proxy`;
  const bin = `${dir}/node_modules/.bin/configurable-http-proxy`;
  try {
    Deno.statSync(bin);
    return bin;
  } catch { /* install */ }
  if ((await sh("npm", ["--version"], { stdout: "null", stderr: "null" })).code !== 0) {
    if (Deno.uid?.() !== 0) throw new Error("npm is missing: sudo apt-get install -y npm");
    log("npm is missing; installing Debian's npm");
    await sh("apt-get", ["install", "-y", "-qq", "npm"], {
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  log(`installing npm configurable-http-proxy@5 into ${dir}`);
  Deno.mkdirSync(dir, { recursive: true });
  const r = await sh("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefix",
    dir,
    "configurable-http-proxy@5",
  ]);
  if (r.code !== 0) {
    throw new Error("npm install configurable-http-proxy@5 failed (is npm installed?)");
  }
  return bin;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

const run = crypto.randomUUID().slice(0, 8);
const state = Deno.makeTempDirSync({ prefix: "convkit-hub-" });
log(`run ${run} in ${state}`);
let hubChild: Deno.ChildProcess | undefined;
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Stops everything the run started; every caller (the signal handler, the end of the run) awaits the one clean-up. */
function cleanup(): Promise<void> {
  return cleaning ??= stopAll();
}

async function stopAll() {
  try {
    hubChild?.kill("SIGTERM"); // the hub stops the servers it spawned (cleanup_servers) and its proxy
  } catch { /* already gone */ }
  const end = Date.now() + 15_000;
  if (hubChild) {
    await Promise.race([
      hubChild.status,
      new Promise((r) => setTimeout(r, end - Date.now())),
    ]);
  }
  const k = await killRun(run);
  if (k.found) {
    log(`clean-up: ${k.found} processes of this run were left, ${k.killed} needed SIGKILL`);
  }
  try {
    Deno.copyFileSync(`${state}/hub.log`, `${root}build/hub/hub-last.log`);
  } catch { /* the hub never started */ }
  if (!values.keep) Deno.removeSync(state, { recursive: true });
  else log(`kept ${state} (hub.log, the students' homes)`);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    log(`${sig}: stopping everything this run started`);
    interrupted = true;
    await cleanup();
    Deno.exit(130);
  });
}

let results: StudentResult[] = [];
let summary = "";
try {
  await setup(); // Jupyter (the single-user server is classic Notebook 6)
  const hubCmd = await ensureHub();
  const proxy = await ensureProxy();

  // the student edition a student's first start copies (one per run, so runs can overlap)
  const edition = `${state}/edition`;
  log(`releasing the student edition to ${edition}`);
  await release(edition, { force: true });
  const shape = await Deno.readTextFile(`${root}lib/shape.ts`);
  const shapeWithEx1 = stripSolutions(shape, "lib/shape.ts", { solutions: true }).text;

  // the npm packages cached once, as deploy/install.sh does system-wide; kernels then run offline
  const info = await sh(Deno.execPath(), ["info", "--json"], { stdout: "piped" });
  const denoDir = Deno.env.get("DENO_DIR") ?? JSON.parse(info.out).denoDir;
  const cached = await sh(Deno.execPath(), ["install"], {
    cwd: edition,
    env: { DENO_DIR: denoDir },
  });
  if (cached.code !== 0) {
    throw new Error(`deno install (caching npm packages) failed in ${edition}`);
  }

  // the Deno kernelspec, system-wide in a real install; here a JUPYTER_PATH of the run
  const spec = `${state}/jupyter/kernels/deno`;
  Deno.mkdirSync(spec, { recursive: true });
  Deno.writeTextFileSync(
    `${spec}/kernel.json`,
    JSON.stringify(
      {
        argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
        display_name: "Deno",
        language: "typescript",
        interrupt_mode: "message",
      },
      null,
      2,
    ),
  );
  Deno.mkdirSync(`${state}/homes`);

  const port = freePort();
  const token = crypto.randomUUID().replaceAll("-", "");
  const env: Record<string, string> = {
    CONVKIT_HUB_CHECK: "1",
    CONVKIT_HUB_RUN: run,
    CONVKIT_HUB_STATE: state,
    CONVKIT_HUB_HOMES: `${state}/homes`,
    CONVKIT_HUB_PORT: String(port),
    CONVKIT_HUB_API_PORT: String(freePort()),
    CONVKIT_PROXY_API_PORT: String(freePort()),
    CONVKIT_HUB_TOKEN: token,
    CONVKIT_PROXY: proxy,
    CONVKIT_EDITION: edition,
    CONVKIT_DENO_DIR: denoDir,
    CONVKIT_DENO: Deno.execPath(),
    CONVKIT_JUPYTER_PATH: `${state}/jupyter`,
    CONVKIT_OFFLINE: "1",
  };
  // CIFAR-10 where this tree finds it (deno task data cifar10), shared by the class as in a real install
  const cifar10 = findCifar10Archive();
  if (cifar10) env.CONVKIT_CIFAR10 = cifar10;
  const hubLog = await Deno.open(`${state}/hub.log`, { write: true, create: true });
  hubChild = new Deno.Command(hubCmd, {
    args: ["-f", `${root}deploy/jupyterhub_config.py`],
    cwd: state,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // hub output to hub.log (both streams)
  const sink = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) await hubLog.write(chunk);
  };
  sink(hubChild.stdout).catch(() => {});
  sink(hubChild.stderr).catch(() => {});

  const hub = { url: `http://127.0.0.1:${port}/`, token };
  const startWait = Date.now();
  for (;;) {
    const ok = await fetch(`${hub.url}hub/api/`).then((r) => r.body?.cancel().then(() => r.ok))
      .catch(() => false);
    if (ok) break;
    if (Date.now() - startWait > 60_000) {
      throw new Error(`the hub did not answer in 60 s (see ${state}/hub.log)`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  log(
    `hub up at ${hub.url} in ${
      ((Date.now() - startWait) / 1000).toFixed(1)
    } s; ${users} students start now`,
  );

  // memory: sampled through the run (peak per student), and once all are done (kernel open, idle)
  const memBefore = memAvailable();
  const peak = new Map<string, number>();
  let memLow = memBefore;
  const sampler = setInterval(() => {
    for (const [u, x] of usageByUser(run)) if (u) peak.set(u, Math.max(peak.get(u) ?? 0, x.pss));
    memLow = Math.min(memLow, memAvailable());
  }, 2000);
  const names = Array.from({ length: users }, (_, i) => `student${String(i + 1).padStart(3, "0")}`);
  const lesson = {
    notebook: values.notebook,
    shapeWithEx1,
    grade: !values["no-grade"],
    timeoutS: Number(values.timeout),
    onReady: (name: string) => {
      if (name !== values["kill-server"]) return;
      const procs = runProcesses(run).filter((p) => p.user === name);
      for (const p of procs) Deno.kill(p.pid, "SIGKILL");
      log(`killed ${name}'s server (${procs.length} processes), as --kill-server asked`);
    },
  };
  const t0 = performance.now();
  results = await Promise.all(names.map((n) => runStudent(hub, n, lesson)));
  const wall = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 1000));
  const idle = usageByUser(run);
  const memAfter = memAvailable();

  const MiB = 1024 * 1024;
  console.log(
    "student     ok  ready  first-output  lecture  ex1-check  grade  idle-MiB  peak-MiB  cpu-s",
  );
  for (const r of results) {
    const u = idle.get(r.name);
    const f = (x?: number) => (x === undefined ? "-" : x.toFixed(1)).padStart(6);
    console.log(
      `${r.name.padEnd(11)} ${r.ok ? "ok " : "NO "} ${f(r.serverReady)} ${
        f(r.firstOutput).padStart(13)
      } ${f(r.lectureDone).padStart(8)} ${f(r.checkDone).padStart(10)} ${f(r.gradeDone)} ${
        ((u?.pss ?? 0) / MiB).toFixed(0).padStart(9)
      } ${((peak.get(r.name) ?? 0) / MiB).toFixed(0).padStart(9)} ${
        (u?.cpu ?? 0).toFixed(1).padStart(6)
      }`,
    );
  }
  for (const r of results.filter((r) => !r.ok)) console.log(`FAILED ${r.name}: ${r.error}`);
  const ok = results.filter((r) => r.ok);
  const first = ok.map((r) => r.firstOutput!).filter((x) => x !== undefined);
  // a student's share with a kernel open: those who passed (or, when none did, those who started)
  const measured = ok.length ? ok : results.filter((r) => r.serverReady !== undefined);
  const perStudent = measured.map((r) => idle.get(r.name)?.pss ?? 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const hubPss = (idle.get("")?.pss ?? 0) / MiB;
  log(
    `wall ${wall.toFixed(1)} s for the class; hub + proxy ${hubPss.toFixed(0)} MiB; machine's ` +
      `MemAvailable fell ${
        ((memBefore - memLow) / MiB / users).toFixed(0)
      } MiB per student at its lowest ` +
      `(${((memBefore - memAfter) / MiB / users).toFixed(0)} MiB once all were idle); ` +
      `peak per student ${(mean(ok.map((r) => peak.get(r.name) ?? 0)) / MiB).toFixed(0)} MiB; ` +
      `CPU ${mean(ok.map((r) => idle.get(r.name)?.cpu ?? 0)).toFixed(1)} s per student; ` +
      `kernel websockets reopened: ${results.reduce((a, r) => a + (r.reconnects ?? 0), 0)}`,
  );
  if (values.json) {
    const rows = results.map((r) => ({
      ...r,
      idleMiB: (idle.get(r.name)?.pss ?? 0) / MiB,
      peakMiB: (peak.get(r.name) ?? 0) / MiB,
      cpuS: idle.get(r.name)?.cpu ?? 0,
    }));
    Deno.writeTextFileSync(
      values.json,
      JSON.stringify({ users, wall, hubPss, rows }, null, 2) + "\n",
    );
  }
  summary = `${users} students: ${ok.length} passed, ${
    users - ok.length
  } failed; first output p50 ${quantile(first, 0.5).toFixed(1)}s p95 ${
    quantile(first, 0.95).toFixed(1)
  }s; memory per student ${(mean(perStudent) / MiB).toFixed(0)} MiB`;
} catch (e) {
  console.error(`[hub-check] ${e instanceof Error ? e.message : e}`);
  summary = `${users} students: 0 passed, ${users} failed; the hub did not run (${
    e instanceof Error ? e.message.split("\n")[0] : e
  })`;
  if (!results.length) results = [{ name: "hub", ok: false }];
} finally {
  await cleanup();
}
console.log(summary);
if (interrupted) Deno.exit(130);
Deno.exit(results.length === users && results.every((r) => r.ok) ? 0 : 1);
