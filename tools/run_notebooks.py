#!/usr/bin/env python3
"""Run notebooks headless through real Jupyter and the Deno kernel, as tests.

Each notebook runs in a fresh kernel whose working directory is the notebook's folder. A cell that
raises, or runs past the per-cell timeout, fails its notebook. The executed notebooks are written to
--out so that a person can open them (or convert them to HTML).

Why not plain `jupyter nbconvert --execute`: Deno's kernel can publish a cell's last outputs after it
reports `status: idle`, and nbclient stops reading at idle, so outputs get lost. This runner keeps
reading the cell's messages until none has arrived for --grace seconds after idle.

With --svg (default build/figures) the SVG of every figure the notebook draws is kept in a subfolder
named after it (tools/browser_check.ts measures their text in a browser).

With --html (default build/html) each executed notebook is also converted to HTML with nbconvert, and a
notebook fails when its HTML shows fewer PNG figures than its outputs hold.

Errors the kernel does not report are caught too: before the notebook a hidden prelude listens for
uncaught errors (a throw inside a timer) and unhandled promise rejections, and makes `Deno.test` run its
test at once and record a failure; after every cell a hidden check fails the notebook with what was
recorded, and adds it to that cell's saved outputs; after the last cell it waits --settle seconds and checks
once more (an error of an earlier cell's timer is then reported where it surfaced). A kernel that dies fails its notebook at once; a
notebook that cannot be read fails itself and the run goes on. Stream output is gathered in chunks (a
cell that prints 20 MB stays fast) and saved cut to its first and last 200 KB.

Prints one line per notebook and ends with `N passed, N failed`; exits 1 when any notebook failed.

Usage: python3 tools/run_notebooks.py [--timeout S] [--grace S] [--out DIR] [--kernel NAME] NB.ipynb...
"""
import argparse
import json
import os
import queue
import shutil
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager

OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


class CellTimeout(Exception):
    pass


class KernelDied(Exception):
    pass


PRELUDE = r"""
globalThis.__convkitErrors = [];
globalThis.__convkitPending = [];
globalThis.addEventListener("error", (e) => {
  globalThis.__convkitErrors.push("uncaught " + String(e.error?.stack ?? e.message));
  e.preventDefault();
});
globalThis.addEventListener("unhandledrejection", (e) => {
  globalThis.__convkitErrors.push("unhandled rejection: " + String(e.reason?.stack ?? e.reason));
  e.preventDefault();
});
Object.defineProperty(Deno, "test", {
  configurable: true,
  writable: true,
  value: (...a) => {
    const o = a.find((x) => x && typeof x === "object");
    const fn = a.find((x) => typeof x === "function") ?? o?.fn;
    const name = typeof a[0] === "string" ? a[0] : o?.name ?? fn?.name ?? "a test";
    if (o?.ignore || typeof fn !== "function") return;
    const t = { name, step: async (n, f) => await (typeof n === "function" ? n : f ?? n.fn)(t) };
    globalThis.__convkitPending.push(
      Promise.resolve().then(() => fn(t)).catch((err) =>
        globalThis.__convkitErrors.push(`Deno.test "${name}" failed: ${err?.stack ?? err}`)
      ),
    );
  },
});
"""

CHECK = r"""
await new Promise((r) => setTimeout(r, 0));
await Promise.allSettled((globalThis.__convkitPending ?? []).splice(0));
{
  const errors = (globalThis.__convkitErrors ?? []).splice(0);
  if (errors.length) throw new Error(errors.join("\n"));
}
"""

STREAM_KEEP = 200_000  # characters of a stream output saved at each end


def to_output(msg_type, content):
    """An nbformat output from an iopub message."""
    if msg_type == "stream":
        return nbformat.v4.new_output("stream", name=content["name"], text=content["text"])
    if msg_type == "error":
        return nbformat.v4.new_output("error", ename=content["ename"], evalue=content["evalue"],
                                      traceback=content.get("traceback", []))
    out = nbformat.v4.new_output(msg_type, data=content.get("data", {}), metadata=content.get("metadata", {}))
    if msg_type == "execute_result":
        out.execution_count = content.get("execution_count")
    return out


class CellRun:
    """Collects one cell's outputs, keeping display ids for in-place updates."""

    def __init__(self, cell):
        self.cell = cell
        self.cell.outputs = []
        self.display_ids = {}
        self.error = None
        self.chunks = {}  # index of a stream output -> its text in pieces (joined once, at the end)
        self.interrupted = False

    def add(self, msg_type, content):
        if msg_type == "clear_output":
            self.cell.outputs = []
            self.display_ids = {}
            self.chunks = {}
            return
        if msg_type == "update_display_data":
            did = content.get("transient", {}).get("display_id")
            for i in self.display_ids.get(did, []):
                self.cell.outputs[i]["data"] = content.get("data", {})
                self.cell.outputs[i]["metadata"] = content.get("metadata", {})
            return
        if msg_type not in OUTPUT_TYPES:
            return
        outs = self.cell.outputs
        if msg_type == "stream" and outs and outs[-1].output_type == "stream" and outs[-1].name == content["name"]:
            self.chunks.setdefault(len(outs) - 1, []).append(content["text"])
            return
        out = to_output(msg_type, content)
        did = content.get("transient", {}).get("display_id")
        if did:
            self.display_ids.setdefault(did, []).append(len(outs))
        outs.append(out)
        if msg_type == "error" and self.error is None:
            self.error = f"{content['ename']}: {content['evalue']}"

    def finish(self):
        """Joins the stream chunks; a very long stream keeps its beginning and its end."""
        for i, parts in self.chunks.items():
            text = self.cell.outputs[i].text + "".join(parts)
            if len(text) > 2 * STREAM_KEEP:
                cut = len(text) - 2 * STREAM_KEEP
                text = text[:STREAM_KEEP] + f"\n[... {cut} characters not saved ...]\n" + text[-STREAM_KEEP:]
            self.cell.outputs[i].text = text
        self.chunks = {}


def run_cell(kc, km, cell, timeout, grace, source=None, silent=False, interrupt_after=None):
    """Executes one cell (or `source` as if it were in it); returns its CellRun.
    Raises CellTimeout, or KernelDied as soon as the kernel process is gone. With `interrupt_after`
    (seconds), presses Interrupt then, as a person would; the run's `interrupted` is then True."""
    run = CellRun(cell) if not silent else CellRun(nbformat.v4.new_code_cell(""))
    msg_id = kc.execute(cell.source if source is None else source, store_history=not silent,
                        allow_stdin=False, stop_on_error=True)
    deadline = time.monotonic() + timeout
    interrupt_at = None if interrupt_after is None else time.monotonic() + interrupt_after
    quiet_since = None  # set at idle; reset by every message of this cell that comes after it
    while True:
        now = time.monotonic()
        if interrupt_at is not None and now >= interrupt_at and quiet_since is None:
            km.interrupt_kernel()  # an interrupt_request message, with "interrupt_mode": "message"
            run.interrupted = True
            interrupt_at = None
        if quiet_since is not None and now - quiet_since >= grace:
            break
        if now >= deadline:
            raise CellTimeout(f"cell ran past its {timeout:g} s timeout")
        wait = min(deadline - now, grace if quiet_since is not None else 1.0)
        if interrupt_at is not None:
            wait = max(0.01, min(wait, interrupt_at - now))
        try:
            msg = kc.get_iopub_msg(timeout=wait)
        except queue.Empty:
            if not km.is_alive():
                raise KernelDied("the kernel died while the cell ran")
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        msg_type, content = msg["msg_type"], msg["content"]
        if msg_type == "status":
            if content.get("execution_state") == "idle":
                quiet_since = time.monotonic()
            continue
        if msg_type == "execute_input":
            run.cell.execution_count = content.get("execution_count")
            continue
        run.add(msg_type, content)
        if quiet_since is not None:
            quiet_since = time.monotonic()
    # The shell reply says whether the cell failed, also when no error output was published.
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CellTimeout(f"no reply to the cell within its {timeout:g} s timeout")
        try:
            reply = kc.get_shell_msg(timeout=min(remaining, 1.0))
        except queue.Empty:
            if not km.is_alive():
                raise KernelDied("the kernel died before it answered the cell")
            continue
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            break
    content = reply["content"]
    if content.get("status") == "error" and run.error is None:
        run.error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
    elif content.get("status") not in ("ok", "error") and run.error is None:
        run.error = f"cell was {content.get('status')}"
    run.finish()
    return run


def first_line(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def png_outputs(nb):
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if "image/png" in o.get("data", {}))


def write_html(nb, path, out_dir):
    """Converts the executed notebook to HTML; returns a problem, or None when every PNG made it."""
    from nbconvert import HTMLExporter
    html, _ = HTMLExporter().from_notebook_node(nb)
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.splitext(os.path.basename(path))[0] + ".html"
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        f.write(html)
    shown, expected = html.count("data:image/png;base64,"), png_outputs(nb)
    if shown < expected:
        return f"HTML shows {shown} of its {expected} figures"
    return None


def run_notebook(path, args):
    """Runs one notebook; returns (ok, message, seconds)."""
    started = time.monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # missing, not JSON, not a notebook
        return False, f"cannot read the notebook: {type(e).__name__}: {str(e)[:300]}", 0.0
    env = dict(os.environ, NO_COLOR="1")
    if args.svg:
        # lib/plot/render.ts keeps each figure's SVG here, for tools/browser_check.ts to measure its text
        svg_dir = os.path.abspath(os.path.join(args.svg, os.path.splitext(os.path.basename(path))[0]))
        shutil.rmtree(svg_dir, ignore_errors=True)
        os.makedirs(svg_dir)
        env["CONVKIT_KEEP_SVG"] = svg_dir
    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel(cwd=os.path.dirname(os.path.abspath(path)), env=env)
    kc = km.client()
    kc.start_channels()
    failure = None
    interrupts = {}
    for spec in args.interrupt or []:
        cell_no, seconds = spec.split("=")
        interrupts[int(cell_no)] = float(seconds)
    try:
        kc.wait_for_ready(timeout=args.startup_timeout)
        prelude = run_cell(kc, km, None, args.timeout, args.grace, source=PRELUDE, silent=True)
        if prelude.error:
            failure = f"the runner's prelude failed: {prelude.error}"
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        for number, cell in enumerate(code_cells if failure is None else [], 1):
            where = f"code cell {number} ({first_line(cell.source)!r})"
            try:
                after = interrupts.get(number)
                run = run_cell(kc, km, cell, args.timeout, args.grace, interrupt_after=after)
                if after is not None and not run.interrupted:
                    failure = f"{where}: ended before the interrupt at {after:g} s: nothing was interrupted"
                    break
                if run.interrupted:
                    run.error = None  # stopped on purpose: the next cells must still run
                if run.error:
                    failure = f"{where}: {run.error}"
                    break
                # errors the kernel did not report: a throw in a timer, a rejection, a failed Deno.test
                check = run_cell(kc, km, None, args.timeout, args.grace, source=CHECK, silent=True)
            except (CellTimeout, KernelDied) as e:
                failure = f"{where}: {e}"
                break
            if check.error:
                cell.outputs.append(nbformat.v4.new_output(
                    "error", ename="Error", evalue=f"after the cell ended: {check.error}", traceback=[]))
                failure = f"{where}: after the cell ended: {check.error}"
                break
        if failure is None and code_cells:
            # a timer or a rejection of the last cells may fire after they end: wait, then check once more
            last = code_cells[-1]
            settle = run_cell(kc, km, None, args.timeout, args.grace,
                              source=f"await new Promise((r) => setTimeout(r, {int(args.settle * 1000)}));\n" + CHECK,
                              silent=True)
            if settle.error:
                last.outputs.append(nbformat.v4.new_output(
                    "error", ename="Error", evalue=f"after the notebook ended: {settle.error}", traceback=[]))
                failure = f"after the last cell ended ({args.settle:g} s later): {settle.error}"
    except RuntimeError as e:  # the kernel did not start
        failure = f"kernel {args.kernel!r} did not start: {e}"
    except KernelDied as e:
        failure = str(e)
    finally:
        try:
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        nbformat.write(nb, os.path.join(args.out, os.path.basename(path)))
    if args.html and failure is None:
        failure = write_html(nb, path, args.html)
    return failure is None, failure, time.monotonic() - started


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=float, default=900,
                   help="seconds a cell may run (default 900: a training cell on a loaded 2-core machine took 420 s)")
    p.add_argument("--grace", type=float, default=0.5,
                   help="seconds to keep reading after idle with no new message (default 0.5)")
    p.add_argument("--startup-timeout", type=float, default=120)
    p.add_argument("--kernel", default="deno")
    p.add_argument("--out", default="build/notebooks", help="folder for the executed notebooks ('' for none)")
    p.add_argument("--html", default="build/html",
                   help="folder for HTML versions ('' for none); a figure missing from the HTML fails the notebook")
    p.add_argument("--svg", default="build/figures",
                   help="folder for the SVG of every figure drawn, one subfolder per notebook ('' for none)")
    p.add_argument("--json", help="also write the results here as JSON")
    p.add_argument("--settle", type=float, default=2.0,
                   help="seconds to wait after the last cell for late errors (timers, rejections; default 2)")
    p.add_argument("--interrupt", action="append", metavar="CELL=SECONDS",
                   help="press Interrupt in code cell CELL (1-based) after SECONDS; the cells after it must "
                        "still run (repeatable)")
    args = p.parse_args()
    results = []
    for path in args.notebooks:
        try:
            ok, message, seconds = run_notebook(path, args)
        except Exception as e:  # whatever one notebook does, the run goes on to its summary line
            ok, message, seconds = False, f"the runner failed on it: {type(e).__name__}: {e}", 0.0
        results.append({"notebook": path, "ok": ok, "error": message, "seconds": round(seconds, 2)})
        status = "ok" if ok else "FAILED"
        print(f"notebook {path} ... {status} ({seconds:.1f}s)" + ("" if ok else f"\n  {message}"), flush=True)
    passed = sum(r["ok"] for r in results)
    failed = len(results) - passed
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
