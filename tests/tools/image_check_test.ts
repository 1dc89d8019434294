import assert from "node:assert/strict";

// Builds the Kubernetes single-user image and runs the notebook check inside it (tools/image_check.ts).
// It takes minutes (debootstrap, apt-get in the build, the npm cache), so it runs only when asked:
// CONVKIT_IMAGE_CHECK=1 deno test -A tests/tools/image_check_test.ts (as root on Linux, where podman
// and debootstrap are installed or apt-get can install them). Elsewhere it is skipped with a message.
const asked = Deno.env.get("CONVKIT_IMAGE_CHECK") === "1";
const ignore = !asked || Deno.build.os !== "linux" || Deno.uid?.() !== 0;
if (ignore) {
  console.warn(
    `image_check_test: skipped (${
      asked ? "needs Linux and root" : "set CONVKIT_IMAGE_CHECK=1 to build the image, 4 to 10 min"
    })`,
  );
}

Deno.test({
  name: "image-check builds the single-user image and its notebooks run inside it",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const tool = new URL("../../tools/image_check.ts", import.meta.url).pathname;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", tool],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    const err = new TextDecoder().decode(r.stderr);
    const last = out.trim().split("\n").at(-1);
    if (r.code === 3) {
      console.warn(`image_check_test: ${last}`); // podman or debootstrap could not be installed
      return;
    }
    assert.equal(last, "image check: passed", `${out.slice(-3000)}\n${err.slice(-3000)}`);
    assert.match(out, /first start: copied once, not overwritten at the next start/);
    assert.match(out, /2 passed, 0 failed/);
  },
});
