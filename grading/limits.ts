/**
 * Limits the operating system enforces on a sandbox process, beside Deno's permissions: memory (a
 * cgroup: v1 `memory.limit_in_bytes` or v2 `memory.max`, so typed arrays count too, not only V8's heap),
 * CPU seconds and the size of files it writes (`ulimit -t`, `ulimit -f`). RLIMIT_AS cannot be used:
 * V8 reserves tens of GiB of address space at start (measured: Deno 2.9 does not start under 32 GiB).
 *
 * The process is started by `sh`, which moves itself into the cgroup and sets the ulimits, then execs
 * Deno. Where no cgroup can be made (not root, no writable hierarchy), memory stays unbounded but for
 * V8's heap, and `memoryLimit()` says why.
 *
 * @module
 */

/** Limits of one sandbox process. */
export interface Limits {
  /** Memory of the process and its threads, in bytes. */
  memoryBytes: number;
  /** CPU time, in seconds (all threads together). */
  cpuSeconds: number;
  /** Largest file it may write, in bytes. */
  fileBytes: number;
  /** Threads and processes (a pids cgroup): Deno starts ~20; workers beyond the rest fail. */
  tasks: number;
}

/** The limits the grader uses unless told otherwise: 2 GiB, 120 CPU seconds, 64 MiB files. */
export const DEFAULT_LIMITS: Limits = {
  memoryBytes: 2 * 2 ** 30,
  cpuSeconds: 120,
  fileBytes: 64 * 2 ** 20,
  tasks: 64,
};

interface Hierarchy {
  version: 1 | 2;
  /** The folder whose children we may create. */
  parent: string;
}

let found: Promise<Hierarchy | string> | undefined;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function probe(): Promise<Hierarchy | string> {
  let self: string;
  try {
    self = await Deno.readTextFile("/proc/self/cgroup");
  } catch {
    return "no /proc/self/cgroup (not Linux)";
  }
  const v1 = self.split("\n").find((l) => /^\d+:memory:/.test(l))?.split(":")[2];
  const candidates: Hierarchy[] = [];
  if (v1 !== undefined) {
    candidates.push({ version: 1, parent: `/sys/fs/cgroup/memory${v1 === "/" ? "" : v1}` });
  }
  const v2 = self.split("\n").find((l) => l.startsWith("0::"))?.slice(3);
  if (v2 !== undefined) {
    candidates.push({ version: 2, parent: `/sys/fs/cgroup${v2 === "/" ? "" : v2}` });
  }
  for (const c of candidates) {
    // cgroups left by a grader that was killed: empty, but they pile up
    try {
      for await (const e of Deno.readDir(c.parent)) {
        const pid = e.name.match(/^convkit_(?:probe_)?(\d+)/)?.[1];
        if (pid && Number(pid) !== Deno.pid && !(await exists(`/proc/${pid}`))) {
          await Deno.remove(`${c.parent}/${e.name}`).catch(() => {});
        }
      }
    } catch { /* not readable */ }
    const dir = `${c.parent}/convkit_probe_${Deno.pid}`;
    try {
      await Deno.mkdir(dir);
      const file = c.version === 1 ? "memory.limit_in_bytes" : "memory.max";
      await Deno.writeTextFile(`${dir}/${file}`, String(2 ** 30));
      await Deno.remove(dir);
      return c;
    } catch {
      await Deno.remove(dir).catch(() => {});
    }
  }
  return "no writable memory cgroup (run the grader as root on Linux to bound the memory of submissions)";
}

/** How memory is bounded here: a cgroup hierarchy, or why there is none. */
export function memoryLimit(): Promise<Hierarchy | string> {
  found ??= probe();
  return found;
}

/** A started sandbox's cgroup, to remove when the process has ended. */
export interface Bounded {
  /** The command and arguments to start instead of `deno ...`. */
  command: string;
  args: string[];
  /** Removes the cgroup (after the process ended); tells whether memory ran out. */
  done(): Promise<{ outOfMemory: boolean }>;
  /** Kills every process in the cgroup (the sandbox and anything it started), where there is one. */
  killAll(): void;
}

/**
 * Wraps `cmd args` so that the process runs under `limits`.
 *
 * @param wallSeconds with it, `timeout` kills the process after that long even if the grader is gone
 * @example
 * ```ts
 * import { bounded, DEFAULT_LIMITS } from "grading/limits.ts";
 * import assert from "node:assert/strict";
 * const b = await bounded("echo", ["hi"], DEFAULT_LIMITS);
 * assert.equal(b.command, "sh");
 * const out = await new Deno.Command(b.command, { args: b.args, stdout: "piped" }).output();
 * assert.equal(new TextDecoder().decode(out.stdout), "hi\n");
 * await b.done();
 * ```
 */
export async function bounded(
  cmd: string,
  args: string[],
  limits: Limits,
  wallSeconds?: number,
): Promise<Bounded> {
  const h = await memoryLimit();
  let dir: string | undefined;
  if (typeof h !== "string") {
    dir = `${h.parent}/convkit_${Deno.pid}_${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.mkdir(dir);
      if (h.version === 1) {
        await Deno.writeTextFile(`${dir}/memory.limit_in_bytes`, String(limits.memoryBytes));
        await Deno.writeTextFile(`${dir}/memory.memsw.limit_in_bytes`, String(limits.memoryBytes))
          .catch(() => {}); // swap accounting is often off
      } else {
        await Deno.writeTextFile(`${dir}/memory.max`, String(limits.memoryBytes));
        await Deno.writeTextFile(`${dir}/memory.swap.max`, "0").catch(() => {});
      }
    } catch {
      await Deno.remove(dir).catch(() => {});
      dir = undefined;
    }
  }
  // threads: cgroup v2 counts them in the same folder; v1 has a pids hierarchy of its own
  let pids: string | undefined;
  if (typeof h !== "string" && dir) {
    if (h.version === 2) {
      await Deno.writeTextFile(`${dir}/pids.max`, String(limits.tasks)).catch(() => {});
    } else {
      const v1 = (await Deno.readTextFile("/proc/self/cgroup").catch(() => "")).split("\n")
        .find((l) => /^\d+:pids:/.test(l))?.split(":")[2];
      if (v1 !== undefined) {
        pids = `/sys/fs/cgroup/pids${v1 === "/" ? "" : v1}/${dir.split("/").pop()}`;
        try {
          await Deno.mkdir(pids);
          await Deno.writeTextFile(`${pids}/pids.max`, String(limits.tasks));
        } catch {
          await Deno.remove(pids).catch(() => {});
          pids = undefined;
        }
      }
    }
  }
  const script = [
    ...(dir ? [`echo $$ > "${dir}/cgroup.procs" || exit 125`] : []),
    ...(pids ? [`echo $$ > "${pids}/cgroup.procs" || exit 125`] : []),
    `ulimit -t ${Math.ceil(limits.cpuSeconds)}`,
    `ulimit -f ${Math.ceil(limits.fileBytes / 512)}`,
    // a process whose grader was killed (kill -9) still ends at the wall-time limit
    wallSeconds ? `exec timeout -s KILL ${Math.ceil(wallSeconds)} "$@"` : 'exec "$@"',
  ].join("; ");
  return {
    command: "sh",
    args: ["-c", script, "sh", cmd, ...args],
    killAll() {
      if (!dir) return;
      try {
        for (
          const pid of Deno.readTextFileSync(`${dir}/cgroup.procs`).split("\n").filter(Boolean)
        ) {
          try {
            Deno.kill(Number(pid), "SIGKILL");
          } catch { /* gone */ }
        }
      } catch { /* no cgroup left */ }
    },
    async done() {
      if (!dir) return { outOfMemory: false };
      let outOfMemory = false;
      try {
        // v1: oom_control counts the kills (failcnt stays 0 when the limit is met by reclaim, then a kill)
        const file = typeof h !== "string" && h.version === 1
          ? "memory.oom_control"
          : "memory.events";
        outOfMemory = /oom_kill [1-9]/.test(await Deno.readTextFile(`${dir}/${file}`));
      } catch { /* gone */ }
      for (let i = 0; i < 20; i++) {
        try {
          if (pids) await Deno.remove(pids).catch(() => {});
          await Deno.remove(dir);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50)); // the kernel frees it once the process is reaped
        }
      }
      return { outOfMemory };
    },
  };
}
