import assert from "node:assert/strict";
import { findCifar10Archive } from "../../lib/data/cifar10.ts";
import { findJupyterPython } from "../../tools/jupyter.ts";

// These run the real runner, Jupyter and the Deno kernel; `deno task test` installs them first.
const python = await findJupyterPython();
const ignore = python === undefined;
if (ignore) {
  console.warn(
    "run_notebooks_test: no Python with Jupyter found; run `deno task test` to set it up",
  );
}
const runner = new URL("../../tools/run_notebooks.py", import.meta.url).pathname;

function notebook(...cells: string[]) {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: cells.map((source) => ({
      cell_type: "code",
      metadata: {},
      source,
      outputs: [],
      execution_count: null,
    })),
  });
}

async function runNotebooks(nbs: Record<string, string>, extra: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "convkit_nb_" });
  const out = `${dir}/out`;
  for (const [name, nb] of Object.entries(nbs)) await Deno.writeTextFile(`${dir}/${name}`, nb);
  const r = await new Deno.Command(python!, {
    args: [
      runner,
      "--out",
      out,
      "--html",
      `${dir}/html`,
      "--svg",
      `${dir}/svg`,
      ...extra,
      ...Object.keys(nbs).map((n) => `${dir}/${n}`),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(r.stdout);
  const executed = (name: string) => JSON.parse(Deno.readTextFileSync(`${out}/${name}`));
  const html = (name: string) =>
    Deno.readTextFileSync(`${dir}/html/${name.replace(/\.ipynb$/, ".html")}`);
  return {
    code: r.code,
    stdout,
    executed,
    html,
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test({
  name:
    "run_notebooks.py keeps every output: 300 lines, late output after idle, in-place display updates",
  ignore,
  fn: async () => {
    const r = await runNotebooks({
      "ok.ipynb": notebook(
        "for (let i = 0; i < 300; i++) console.log(`line ${i}`);",
        'setTimeout(() => console.log("late"), 150);\n"returned"',
        'await Deno.jupyter.display({ "text/plain": "0%" }, { raw: true, display_id: "p" });\n' +
          'await Deno.jupyter.display({ "text/plain": "100%" }, { raw: true, display_id: "p", update: true });',
        'await Deno.jupyter.display({ "image/png": "iVBORw0KGgo=", "text/plain": "fig" }, { raw: true });',
      ),
    });
    try {
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /^1 passed, 0 failed$/m);
      const cells = r.executed("ok.ipynb").cells;
      const text = cells[0].outputs.map((o: { text: string }) => o.text).join("");
      assert.equal(text.trim().split("\n").length, 300);
      assert.match(text, /line 299/);
      const second = JSON.stringify(cells[1].outputs);
      assert.match(second, /returned/);
      assert.match(second, /late/);
      assert.equal(cells[2].outputs.length, 1);
      assert.equal([cells[2].outputs[0].data["text/plain"]].flat().join(""), "100%"); // nbformat may split lines
      assert.match(r.html("ok.ipynb"), /data:image\/png;base64,iVBORw0KGgo=/); // the figure reaches the HTML
    } finally {
      await r.cleanup();
    }
  },
});

Deno.test({
  name:
    "run_notebooks.py fails a notebook whose cell throws, naming the cell and the error, and runs the others",
  ignore,
  fn: async () => {
    const r = await runNotebooks({
      "a_bad.ipynb": notebook(
        "const x = 1;",
        'throw new RangeError("wrong number: 27 != 28");',
        "console.log('never')",
      ),
      "b_good.ipynb": notebook("1 + 1"),
    });
    try {
      assert.equal(r.code, 1);
      assert.match(r.stdout, /a_bad.ipynb \.\.\. FAILED/);
      assert.match(r.stdout, /code cell 2 .*RangeError: wrong number: 27 != 28/);
      assert.match(r.stdout, /b_good.ipynb \.\.\. ok/);
      assert.match(r.stdout, /^1 passed, 1 failed$/m);
      assert.deepEqual(r.executed("a_bad.ipynb").cells[2].outputs, []); // stopped at the error
    } finally {
      await r.cleanup();
    }
  },
});

Deno.test({
  name: "run_notebooks.py fails a cell that runs past the per-cell timeout",
  ignore,
  fn: async () => {
    const r = await runNotebooks({
      "slow.ipynb": notebook("await new Promise((r) => setTimeout(r, 30_000));"),
    }, [
      "--timeout",
      "3",
    ]);
    try {
      assert.equal(r.code, 1);
      assert.match(r.stdout, /code cell 1 .*ran past its 3 s timeout/);
    } finally {
      await r.cleanup();
    }
  },
});

Deno.test({
  name:
    "run_notebooks.py fails what the kernel reports as ok: a throw in a timer, an unhandled rejection, a failed Deno.test",
  ignore,
  async fn() {
    const r = await runNotebooks({
      "timer.ipynb": notebook('setTimeout(() => { throw new Error("late boom"); }, 10);\n1', "2"),
      "rejection.ipynb": notebook('Promise.reject(new Error("nobody awaited me"));\n1'),
      "test.ipynb": notebook(
        'Deno.test("sums", () => { if (1 + 1 !== 3) throw new Error("1 + 1 is not 3"); });',
      ),
      "fine.ipynb": notebook("1 + 1"),
      "late.ipynb": notebook("1", 'setTimeout(() => { throw new Error("late"); }, 1000);\n2'),
    });
    try {
      assert.match(r.stdout, /late\.ipynb \.\.\. FAILED[^\n]*\n[^\n]*after the last cell ended/);
      assert.match(
        r.stdout,
        /timer\.ipynb \.\.\. FAILED[^\n]*\n\s+code cell 1 [^\n]*after the cell ended: (Error: )?uncaught Error: late boom/,
      );
      assert.match(
        r.stdout,
        /rejection\.ipynb \.\.\. FAILED[^\n]*\n[^\n]*unhandled rejection: Error: nobody awaited me/,
      );
      assert.match(
        r.stdout,
        /test\.ipynb \.\.\. FAILED[^\n]*\n[^\n]*Deno\.test "sums" failed: Error: 1 \+ 1 is not 3/,
      );
      assert.match(r.stdout, /fine\.ipynb \.\.\. ok/);
      assert.match(r.stdout, /1 passed, 4 failed/);
      // the error is in the saved notebook, under the cell it came from
      const saved = JSON.stringify(r.executed("timer.ipynb").cells[0].outputs);
      assert.match(saved, /late boom/);
    } finally {
      await r.cleanup();
    }
  },
});

Deno.test({
  name:
    "run_notebooks.py: 20 MB of output stays fast, a dead kernel fails at once, a malformed notebook fails alone",
  ignore,
  async fn() {
    const t0 = performance.now();
    const r = await runNotebooks({
      "loud.ipynb": notebook(
        'const line = "x".repeat(1000);\nfor (let i = 0; i < 20000; i++) console.log(line);',
      ),
      "dies.ipynb": notebook("Deno.exit(3);", "1"),
      "broken.ipynb": "{ this is not json",
      "fine.ipynb": notebook("1 + 1"),
    }, ["--timeout", "60"]);
    try {
      assert.match(r.stdout, /loud\.ipynb \.\.\. ok/);
      assert.match(r.stdout, /dies\.ipynb \.\.\. FAILED[^\n]*\n[^\n]*kernel died/);
      assert.match(r.stdout, /broken\.ipynb \.\.\. FAILED[^\n]*\n[^\n]*cannot read the notebook/);
      assert.match(r.stdout, /fine\.ipynb \.\.\. ok/);
      assert.match(r.stdout, /2 passed, 2 failed/);
      assert.ok(performance.now() - t0 < 50_000, `${performance.now() - t0} ms`);
      const text = r.executed("loud.ipynb").cells[0].outputs[0].text.join?.("") ??
        r.executed("loud.ipynb").cells[0].outputs[0].text;
      assert.match(text, /characters not saved/);
    } finally {
      await r.cleanup();
    }
  },
});

Deno.test({
  name:
    "notebooks 16 and 17: after Interrupt stops the training cell, every following cell still runs",
  ignore,
  async fn() {
    const root = new URL("../../", import.meta.url).pathname;
    const dir = await Deno.makeTempDir({ prefix: "convkit_interrupt_" });
    try {
      // code cell 4 of 16 and code cell 3 of 17 train; Interrupt is pressed 15 s into each
      // without CIFAR-10, 17 trains on 60 embedded images in a second: nothing to interrupt
      const withCifar = findCifar10Archive() !== undefined;
      for (
        const [nb, cell] of [
          ["16_lenet5_mnist", 4],
          ...(withCifar ? [["17_cifar10_demo", 3]] : []),
        ] as [
          string,
          number,
        ][]
      ) {
        const r = await new Deno.Command(python!, {
          args: [
            runner,
            "--out",
            dir,
            "--html",
            "",
            "--svg",
            "",
            "--interrupt",
            `${cell}=15`,
            `${root}notebooks/${nb}.ipynb`,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const out = new TextDecoder().decode(r.stdout);
        assert.match(out, /1 passed, 0 failed/, out);
        const saved = JSON.stringify(JSON.parse(Deno.readTextFileSync(`${dir}/${nb}.ipynb`)).cells);
        assert.match(saved, /training was stopped/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
