#!/usr/bin/env python3
"""Run notebooks headless through real Jupyter and the Deno kernel, as tests.

Each notebook runs in a fresh kernel whose working directory is the notebook's folder. A cell that
raises, or runs past the per-cell timeout, fails its notebook. The executed notebooks are written to
--out so that a person can open them (or convert them to HTML).

Why not plain `jupyter nbconvert --execute`: Deno's kernel can publish a cell's last outputs after it
reports `status: idle`, and nbclient stops reading at idle, so outputs get lost. This runner keeps
reading the cell's messages until none has arrived for --grace seconds after idle.

With --html (default build/html) each executed notebook is also converted to HTML with nbconvert, and a
notebook fails when its HTML shows fewer PNG figures than its outputs hold.

Prints one line per notebook and ends with `N passed, N failed`; exits 1 when any notebook failed.

Usage: python3 tools/run_notebooks.py [--timeout S] [--grace S] [--out DIR] [--kernel NAME] NB.ipynb...
"""
import argparse
import json
import os
import queue
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager

OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


class CellTimeout(Exception):
    pass


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

    def add(self, msg_type, content):
        if msg_type == "clear_output":
            self.cell.outputs = []
            self.display_ids = {}
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
            outs[-1].text += content["text"]
            return
        out = to_output(msg_type, content)
        did = content.get("transient", {}).get("display_id")
        if did:
            self.display_ids.setdefault(did, []).append(len(outs))
        outs.append(out)
        if msg_type == "error" and self.error is None:
            self.error = f"{content['ename']}: {content['evalue']}"


def run_cell(kc, cell, timeout, grace):
    """Executes one cell; returns its CellRun. Raises CellTimeout."""
    run = CellRun(cell)
    msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=True)
    deadline = time.monotonic() + timeout
    quiet_since = None  # set at idle; reset by every message of this cell that comes after it
    while True:
        now = time.monotonic()
        if quiet_since is not None and now - quiet_since >= grace:
            break
        if now >= deadline:
            raise CellTimeout(f"cell ran past its {timeout:g} s timeout")
        wait = min(deadline - now, grace if quiet_since is not None else 1.0)
        try:
            msg = kc.get_iopub_msg(timeout=wait)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        msg_type, content = msg["msg_type"], msg["content"]
        if msg_type == "status":
            if content.get("execution_state") == "idle":
                quiet_since = time.monotonic()
            continue
        if msg_type == "execute_input":
            cell.execution_count = content.get("execution_count")
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
            reply = kc.get_shell_msg(timeout=remaining)
        except queue.Empty:
            continue
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            break
    content = reply["content"]
    if content.get("status") == "error" and run.error is None:
        run.error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
    elif content.get("status") not in ("ok", "error") and run.error is None:
        run.error = f"cell was {content.get('status')}"
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
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, NO_COLOR="1")
    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel(cwd=os.path.dirname(os.path.abspath(path)), env=env)
    kc = km.client()
    kc.start_channels()
    failure = None
    try:
        kc.wait_for_ready(timeout=args.startup_timeout)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        for number, cell in enumerate(code_cells, 1):
            try:
                run = run_cell(kc, cell, args.timeout, args.grace)
            except CellTimeout as e:
                failure = f"code cell {number} ({first_line(cell.source)!r}): {e}"
                break
            if run.error:
                failure = f"code cell {number} ({first_line(cell.source)!r}): {run.error}"
                break
    except RuntimeError as e:  # the kernel did not start
        failure = f"kernel {args.kernel!r} did not start: {e}"
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
    p.add_argument("--timeout", type=float, default=300, help="seconds a cell may run (default 300)")
    p.add_argument("--grace", type=float, default=0.5,
                   help="seconds to keep reading after idle with no new message (default 0.5)")
    p.add_argument("--startup-timeout", type=float, default=120)
    p.add_argument("--kernel", default="deno")
    p.add_argument("--out", default="build/notebooks", help="folder for the executed notebooks ('' for none)")
    p.add_argument("--html", default="build/html",
                   help="folder for HTML versions ('' for none); a figure missing from the HTML fails the notebook")
    p.add_argument("--json", help="also write the results here as JSON")
    args = p.parse_args()
    results = []
    for path in args.notebooks:
        ok, message, seconds = run_notebook(path, args)
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
