/**
 * Set-up for the browser check (`tools/browser_check.ts`): find Chromium, or install Debian's `chromium`
 * when missing (as root, with apt-get), and start it headless through puppeteer-core, which drives a
 * browser it is given and downloads none.
 *
 * Where Chromium is looked for: `$CONVKIT_CHROMIUM`, then `/usr/bin/chromium` (Debian),
 * `/usr/bin/chromium-browser`, `/usr/bin/google-chrome`. When none is there and it cannot be installed,
 * a {@link SetupError} says what to run.
 *
 * @module
 */
import type { Browser } from "puppeteer-core";
import { SetupError } from "./jupyter.ts";

const APT_PACKAGES = ["chromium"];

function candidates(): string[] {
  const list = [
    Deno.env.get("CONVKIT_CHROMIUM"),
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
  ];
  return [...new Set(list.filter((p): p is string => !!p))];
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The first Chromium found (an executable path), or undefined. */
export function findChromium(): string | undefined {
  return candidates().find(isFile);
}

async function run(cmd: string, args: string[]): Promise<number> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    return out.code;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 127;
    throw e;
  }
}

/**
 * Returns the path of a Chromium executable, installing Debian's `chromium` with apt-get when it is
 * missing and this runs as root (waiting up to 5 min for a dpkg lock another install holds).
 *
 * @throws {SetupError} when no Chromium is found and it cannot be installed; the message says what to run.
 */
export async function ensureChromium(): Promise<string> {
  const found = findChromium();
  if (found) return found;
  const manual = `Chromium was not found. Install it, then run this again:
  Debian/Ubuntu:  sudo apt-get install -y ${APT_PACKAGES.join(" ")}
  elsewhere:      install Chromium or Chrome and point the kit at it: export CONVKIT_CHROMIUM=/path/to/chrome
To skip the browser check: deno task test --no-browser`;
  if (Deno.uid?.() !== 0) throw new SetupError(manual);
  console.error(`[convkit setup] Chromium is missing; installing: ${APT_PACKAGES.join(" ")}`);
  const lock = ["-o", "DPkg::Lock::Timeout=300"];
  const ok = await run("apt-get", [...lock, "update", "-qq"]) === 0 &&
    await run("apt-get", [...lock, "install", "-y", "-qq", ...APT_PACKAGES]) === 0;
  const installed = findChromium();
  if (ok && installed) return installed;
  throw new SetupError(`apt-get could not install Chromium.\n${manual}`);
}

/**
 * Starts Chromium headless (no sandbox: CI runs as root) and returns puppeteer's handle; close it with
 * `browser.close()`.
 *
 * @param executablePath path of the Chromium executable, e.g. from {@link ensureChromium}
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  // loaded here, not at import: `deno task test` in a student edition never fetches it
  const { default: puppeteer } = await import("puppeteer-core");
  return await puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--headless=new", "--hide-scrollbars"],
    protocolTimeout: 300_000,
  });
}
