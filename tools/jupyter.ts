/**
 * Set-up shared by `deno task lab` and `deno task test`: find (or install) a Python with Jupyter, and
 * install Deno's kernelspec with `"interrupt_mode": "message"` so that Interrupt stops a cell without
 * killing the kernel (denoland/deno#24491).
 *
 * Install order when Jupyter is missing: Debian/Ubuntu packages when running as root with apt-get;
 * otherwise pip (user install) where PyPI is reachable. When neither works it says what to run and
 * exits non-zero.
 *
 * @module
 */

/** Python modules the runner and Notebook need. */
const MODULES = ["notebook", "nbformat", "nbconvert", "jupyter_client"];
const APT_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "python3-nbclient"];
const PIP_PACKAGES = ["notebook<7", "nbconvert", "nbclient"];

/** Raised when set-up cannot finish; the message says what to run instead. */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string,
  args: string[],
  opts: { quiet?: boolean; env?: Record<string, string> } = {},
) {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: opts.quiet ? "piped" : "inherit",
      stderr: opts.quiet ? "piped" : "inherit",
      stdin: "null",
      env: opts.env,
    }).output();
    const dec = new TextDecoder();
    // stdout and stderr can only be read when piped (quiet); otherwise they went to the terminal
    return {
      code: out.code,
      stdout: opts.quiet ? dec.decode(out.stdout) : "",
      stderr: opts.quiet ? dec.decode(out.stderr) : "",
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${cmd}: not found` } as RunResult;
    }
    throw e;
  }
}

async function hasModules(python: string): Promise<boolean> {
  const r = await run(python, ["-c", `import ${MODULES.join(", ")}`], { quiet: true });
  return r.code === 0;
}

function candidates(): string[] {
  const list = [Deno.env.get("CONVKIT_PYTHON"), "/usr/bin/python3", "python3"];
  return [...new Set(list.filter((p): p is string => !!p))];
}

/** The first Python that has Jupyter, or undefined. */
export async function findJupyterPython(): Promise<string | undefined> {
  for (const py of candidates()) if (await hasModules(py)) return py;
  return undefined;
}

function log(msg: string) {
  console.error(`[convkit setup] ${msg}`);
}

const manual =
  `Install Jupyter (classic Notebook, nbconvert, nbclient) by hand, then run this again:
  Debian/Ubuntu:  sudo apt-get install -y ${APT_PACKAGES.join(" ")}
  elsewhere:      python3 -m pip install --user "notebook<7" nbconvert nbclient
If Jupyter is in another Python, point the kit at it:  export CONVKIT_PYTHON=/path/to/python3`;

/** Finds a Python with Jupyter, installing it if needed and possible. */
export async function ensureJupyter(): Promise<string> {
  const found = await findJupyterPython();
  if (found) return found;
  const isRoot = Deno.uid?.() === 0;
  if (isRoot && (await run("apt-get", ["--version"], { quiet: true })).code === 0) {
    log(`Jupyter is missing; installing Debian packages: ${APT_PACKAGES.join(" ")}`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const upd = await run("apt-get", ["update", "-qq"], { env });
    const inst = upd.code === 0
      ? await run("apt-get", ["install", "-y", "-qq", ...APT_PACKAGES], { env })
      : upd;
    if (inst.code === 0 && await hasModules("/usr/bin/python3")) return "/usr/bin/python3";
    log("apt-get could not install Jupyter");
  }
  for (const py of candidates()) {
    if ((await run(py, ["-m", "pip", "--version"], { quiet: true })).code !== 0) continue;
    log(`Jupyter is missing; trying: ${py} -m pip install --user ${PIP_PACKAGES.join(" ")}`);
    const r = await run(py, [
      "-m",
      "pip",
      "install",
      "--user",
      "--timeout",
      "15",
      "--retries",
      "1",
      ...PIP_PACKAGES,
    ]);
    if (r.code === 0 && await hasModules(py)) return py;
    break;
  }
  throw new SetupError(`Jupyter was not found and could not be installed.\n${manual}`);
}

type KernelSpecs = Record<
  string,
  { resource_dir: string; spec: { argv: string[]; interrupt_mode?: string } }
>;

/** Reads the installed kernelspecs through jupyter_client (Debian ships no `jupyter kernelspec` command). */
async function kernelSpecs(python: string): Promise<KernelSpecs> {
  const code = "import json; from jupyter_client.kernelspec import KernelSpecManager as M; " +
    "print(json.dumps(M().get_all_specs()))";
  const r = await run(python, ["-c", code], { quiet: true });
  if (r.code !== 0) {
    throw new SetupError(`listing Jupyter kernelspecs with ${python} failed:\n${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/**
 * Installs Deno's kernelspec (named `deno`) when it is missing or points at another Deno, and makes sure
 * its kernel.json has `"interrupt_mode": "message"`. Returns the kernel.json path.
 */
export async function ensureKernel(python: string): Promise<string> {
  let spec = (await kernelSpecs(python))["deno"];
  const deno = Deno.execPath();
  const real = (p: string) => Deno.realPathSync(p);
  const sameDeno = (p: string | undefined) => {
    try {
      return !!p && real(p) === real(deno);
    } catch {
      return false; // the kernelspec names a deno that is gone
    }
  };
  if (!spec || !sameDeno(spec.spec.argv[0])) {
    log(`installing the Deno kernelspec for ${deno}`);
    const r = await run(deno, ["jupyter", "--install", "--force"], { quiet: true });
    if (r.code !== 0) {
      throw new SetupError(
        `'deno jupyter --install' failed:\n${r.stderr}\nRun it by hand, then again.`,
      );
    }
    spec = (await kernelSpecs(python))["deno"];
    if (!spec) {
      throw new SetupError(
        "the Deno kernelspec was installed but Jupyter does not list it; run 'jupyter kernelspec list'",
      );
    }
  }
  const path = `${spec.resource_dir}/kernel.json`;
  const json = JSON.parse(await Deno.readTextFile(path));
  if (json.interrupt_mode !== "message") {
    json.interrupt_mode = "message";
    const tmp = `${path}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(json, null, 2) + "\n");
    await Deno.rename(tmp, path);
    log(`set "interrupt_mode": "message" in ${path}`);
  }
  return path;
}

/** Everything the notebooks need; returns the Python that has Jupyter. Exits with a message on failure. */
export async function setup(): Promise<string> {
  try {
    const python = await ensureJupyter();
    await ensureKernel(python);
    return python;
  } catch (e) {
    if (e instanceof SetupError) {
      console.error(`[convkit setup] ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
