/**
 * The processes of one hub-check run, found by a marker in their environment
 * (`CONVKIT_HUB_RUN=<run id>`: the hub and its proxy inherit it, the spawner passes it to each
 * student's server, and kernels and terminals inherit it from there), so that clean-up kills exactly
 * what the run started, even after the hub itself died. Linux `/proc` only.
 *
 * Memory is PSS (`/proc/PID/smaps_rollup`): each page shared by k processes counts 1/k to each, so
 * the sum over a student's processes is that student's share of the machine's memory
 * (https://docs.kernel.org/filesystems/proc.html).
 *
 * @module
 */

/** One process of the run. */
export interface RunProcess {
  pid: number;
  /** JUPYTERHUB_USER of its environment (a student's server, kernel or terminal), or "" (hub, proxy). */
  user: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat), to tell a reused pid apart. */
  start: number;
}

function environ(pid: number): Map<string, string> | undefined {
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/environ`);
    return new Map(
      raw.split("\0").filter(Boolean).map((kv) => {
        const i = kv.indexOf("=");
        return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
      }),
    );
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/** Fields of /proc/PID/stat after the command name (index 0 is field 3, the state). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Every live process whose environment carries `CONVKIT_HUB_RUN=run`. */
export function runProcesses(run: string): RunProcess[] {
  const out: RunProcess[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    const env = environ(pid);
    if (env?.get("CONVKIT_HUB_RUN") !== run) continue;
    const f = statFields(pid);
    if (!f || f[0] === "Z") continue;
    out.push({ pid, user: env.get("JUPYTERHUB_USER") ?? "", start: Number(f[19]) });
  }
  return out;
}

/** PSS of one process in bytes (0 when it is gone). */
export function pssBytes(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`).match(/^Pss:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

/** Per student (JUPYTERHUB_USER): summed PSS in bytes and CPU seconds of their live processes. */
export function usageByUser(run: string): Map<string, { pss: number; cpu: number; procs: number }> {
  const by = new Map<string, { pss: number; cpu: number; procs: number }>();
  for (const p of runProcesses(run)) {
    const u = by.get(p.user) ?? { pss: 0, cpu: 0, procs: 0 };
    u.pss += pssBytes(p.pid);
    u.cpu += cpuSeconds(p.pid);
    u.procs++;
    by.set(p.user, u);
  }
  return by;
}

function alive(p: RunProcess): boolean {
  const f = statFields(p.pid);
  return !!f && f[0] !== "Z" && Number(f[19]) === p.start;
}

/**
 * Stops every process of the run: SIGTERM, up to `graceMs` to exit, then SIGKILL. Returns how many
 * were still alive at the start and how many needed SIGKILL.
 */
export async function killRun(
  run: string,
  graceMs = 5000,
): Promise<{ found: number; killed: number }> {
  const procs = runProcesses(run);
  const signal = (p: RunProcess, sig: Deno.Signal) => {
    try {
      if (alive(p)) Deno.kill(p.pid, sig);
    } catch { /* exited meanwhile */ }
  };
  for (const p of procs) signal(p, "SIGTERM");
  const end = Date.now() + graceMs;
  while (Date.now() < end && procs.some(alive)) await new Promise((r) => setTimeout(r, 100));
  const left = procs.filter(alive);
  for (const p of left) signal(p, "SIGKILL");
  // children started in the meantime (a server spawning a kernel as it was told to stop)
  const late = runProcesses(run);
  for (const p of late) signal(p, "SIGKILL");
  return { found: procs.length, killed: left.length + late.length };
}

/** MemAvailable of the machine in bytes (/proc/meminfo). */
export function memAvailable(): number {
  const m = Deno.readTextFileSync("/proc/meminfo").match(/^MemAvailable:\s+(\d+) kB/m);
  return m ? Number(m[1]) * 1024 : 0;
}
