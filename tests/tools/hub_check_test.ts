import assert from "node:assert/strict";

// A small class on the real hub (deploy/jupyterhub_config.py in check mode): three students, one of
// whose servers is killed as soon as it is ready. hub-check installs Debian's jupyterhub when run as
// root with apt-get (as in CI); elsewhere, without jupyterhub, this test is skipped with a message.
const hasHub = await new Deno.Command("sh", {
  args: ["-c", "command -v jupyterhub"],
  stdout: "null",
})
  .output().then((r) => r.success).catch(() => false);
const ignore = Deno.build.os !== "linux" || (!hasHub && Deno.uid?.() !== 0);
if (ignore) {
  console.warn(
    "hub_check_test: skipped (needs Linux, and jupyterhub installed or root to install it)",
  );
}
const tool = new URL("../../tools/hub_check.ts", import.meta.url).pathname;

/** Pids whose environment carries CONVKIT_HUB_RUN=run (what the check must leave none of). */
function marked(run: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (
        Deno.readTextFileSync(`/proc/${e.name}/environ`).split("\0").includes(
          `CONVKIT_HUB_RUN=${run}`,
        )
      ) {
        pids.push(Number(e.name));
      }
    } catch { /* gone */ }
  }
  return pids;
}

Deno.test({
  name: "hub-check reports a student whose server dies and passes the others, leaving no process",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", tool, "--users", "3", "--kill-server", "student002"],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    const err = new TextDecoder().decode(r.stderr);
    const lines = out.trim().split("\n");
    const last = lines.at(-1)!;
    assert.match(
      last,
      /^3 students: 2 passed, 1 failed; first output p50 \d+\.\ds p95 \d+\.\ds; memory per student \d+ MiB$/,
      `${out}\n${err}`,
    );
    assert.equal(r.code, 1, "a failed student makes the check fail");
    assert.match(out, /^FAILED student002: /m);
    assert.doesNotMatch(out, /^FAILED student00[13]/m);
    // the two others ran the lecture, ex1's check and the grader: a row with every time filled
    for (const s of ["student001", "student003"]) {
      assert.match(out, new RegExp(`^${s} +ok( +\\d+\\.\\d){5}`, "m"));
    }
    const m = out.match(/\[hub-check\] run (\w+) in (\S+)/);
    assert.ok(m, "hub-check names its run");
    assert.deepEqual(marked(m[1]), [], "every process of the run is gone");
    assert.throws(
      () => Deno.statSync(m[2]),
      Deno.errors.NotFound,
      "its temporary folder is removed",
    );
  },
});
