import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "convkit/display.ts";
import { conv2dForward } from "convkit/layers/conv2d.ts";
import { ConvDemo, convDemo, convDemoData, CS231N_DEMO } from "convkit/plot/conv_demo.ts";
import {
  type ConvDemoCore,
  convDemoCoreSource,
  type ConvDemoData,
  type ConvDemoSettings,
  type WidgetEvent,
} from "convkit/plot/conv_demo_widget.ts";
import { pngSize } from "convkit/plot/png.ts";
import { svgToPng } from "convkit/plot/render.ts";
import { Rng } from "convkit/random.ts";
import { convOutputSize, ShapeError } from "convkit/shape.ts";
import { tensor } from "convkit/tensor.ts";
import { conv2dForwardTf } from "convkit/tf/layers.ts";
import { outputSize } from "convkit/tf/output_size.ts";

/** The widget's core as the browser gets it: its source text, evaluated on its own. */
const js: ConvDemoCore = new Function(`return (${convDemoCoreSource()})();`)();

/** Every setting the widget's controls offer. */
function* sweep(): Generator<ConvDemoSettings> {
  for (let n = 3; n <= 9; n++) {
    for (let f = 1; f <= 5; f++) {
      for (let stride = 1; stride <= 3; stride++) {
        for (let pad = 0; pad <= 2; pad++) {
          for (let k = 1; k <= 4; k++) yield { n, f, stride, pad, k };
        }
      }
    }
  }
}

function kitMessage(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ShapeError, String(e));
    return e.message;
  }
}

Deno.test("convDemoCore().outputSize() gives the kit's sizes and ShapeError messages for every control setting", () => {
  let refused = 0, fitting = 0;
  for (const s of sweep()) {
    if (s.k > 1) continue; // K does not enter the size
    const mine = js.outputSize(s.n, s.f, s.stride, s.pad, "convDemo");
    const lib = kitMessage(() => outputSize(s.n, s.f, s.stride, s.pad, "convDemo"));
    const teaching = kitMessage(() => convOutputSize(s.n, s.f, s.stride, s.pad, "convDemo"));
    assert.equal(lib, teaching, `${JSON.stringify(s)}: the kit's two paths differ`);
    if (lib === undefined) {
      fitting++;
      const size = outputSize(s.n, s.f, s.stride, s.pad);
      assert.deepEqual(mine, {
        size,
        formula: `(${s.n} - ${s.f} + ${2 * s.pad}) / ${s.stride} + 1 = ${size}`,
      });
    } else {
      refused++;
      assert.deepEqual(mine, { error: lib }, JSON.stringify(s));
    }
  }
  assert.equal(fitting + refused, 7 * 5 * 3 * 3);
  assert.ok(fitting > 50 && refused > 50, `${fitting} fit, ${refused} refused`);
  // two messages written out by hand, from the lecture's rule
  assert.deepEqual(js.outputSize(7, 3, 3, 0, "convDemo"), {
    error:
      "convDemo: stride 3 does not fit a 7-wide input with a 3-wide filter and pad 0: (7 - 3 + 0) / 3 + 1 = 2.33 is not an integer",
  });
  assert.deepEqual(js.outputSize(3, 5, 1, 0, "convDemo"), {
    error: "convDemo: a 5-wide filter does not fit a 3-wide input with pad 0: 3 + 2*0 = 3 < 5",
  });
});

Deno.test("convDemoCore().draw() draws the numbers of the kit's Rng for the same seed", () => {
  for (const seed of [0, 1, 42, 2 ** 31 + 5]) {
    for (const s of [CS231N_DEMO, { n: 9, f: 5, stride: 1, pad: 2, k: 4 }]) {
      const rng = new Rng(seed);
      const x = Array.from({ length: s.n * s.n * 3 }, () => rng.int(3));
      const w = Array.from({ length: s.f * s.f * 3 * s.k }, () => rng.int(3) - 1);
      const d = js.draw(s, seed);
      assert.deepEqual(d.x, x);
      assert.deepEqual(d.w, w);
      assert.deepEqual(d.b, Array.from({ length: s.k }, (_, i) => (i + 1) % 2));
      assert.ok(d.x.every((v) => v >= 0 && v <= 2) && d.w.every((v) => v >= -1 && v <= 1));
    }
  }
});

Deno.test("convDemoCore().conv() equals the kit's conv2dForward and tfjs conv2d for every fitting setting", () => {
  let checked = 0;
  for (const s of sweep()) {
    const r = js.compute(s, 3);
    if ("error" in r) continue;
    const x = tensor(r.x, [1, s.n, s.n, 3]), w = tensor(r.w, [s.f, s.f, 3, s.k]);
    const b = tensor(r.b, [s.k]);
    const naive = conv2dForward(x, w, b, s).out;
    assert.deepEqual(naive.shape, [1, r.size, r.size, s.k]);
    assert.deepEqual(r.out, Array.from(naive.data), JSON.stringify(s));
    assert.deepEqual(r.out, Array.from(conv2dForwardTf(x, w, b, s).out.data), JSON.stringify(s));
    checked++;
  }
  assert.ok(checked > 200, `${checked} settings`);
});

Deno.test("convDemoCore().conv() gives the hand-counted output of ones with pad 1, stride 2", () => {
  // 5x5x3 ones, one 3x3x3 filter of ones, bias 1: a corner window covers 2x2 real cells (12 ones),
  // an edge window 2x3 (18), the centre 3x3 (27)
  const s = { n: 5, f: 3, stride: 2, pad: 1, k: 1 };
  const out = js.conv(Array(75).fill(1), Array(27).fill(1), [1], s, 3);
  assert.deepEqual(out, [13, 19, 13, 19, 28, 19, 13, 19, 13]);
});

Deno.test("convDemoData() for the lecture's demo: 3x3x2 output of the kit's conv, biases 1 and 0", () => {
  const d = convDemoData(CS231N_DEMO, 0);
  assert.equal(d.x.length, 5 * 5 * 3);
  assert.equal(d.w.length, 3 * 3 * 3 * 2);
  assert.deepEqual(d.b, [1, 0]);
  assert.equal(d.size, 3);
  assert.deepEqual(d, js.compute(CS231N_DEMO, 0)); // the browser recomputes the same volume
  // o[0,0,0] by hand: the top-left window covers padded rows/cols 0..2, i.e. input cells (0..1, 0..1)
  let sum = d.b[0];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 2; j++) {
      for (let c = 0; c < 3; c++) {
        sum += d.x[(i * 5 + j) * 3 + c] * d.w[(((i + 1) * 3 + j + 1) * 3 + c) * 2];
      }
    }
  }
  assert.equal(d.out[0], sum);
});

Deno.test("convDemoData() refuses settings that do not fit with the kit's ShapeError, and out-of-range ones", () => {
  assert.throws(
    () => convDemoData({ ...CS231N_DEMO, stride: 3 }),
    (e) =>
      e instanceof ShapeError &&
      e.message === kitMessage(() => outputSize(5, 3, 3, 1, "convDemo")),
  );
  assert.throws(
    () => convDemoData({ ...CS231N_DEMO, k: 5 }),
    /k must be a whole number in 1\.\.4, got 5/,
  );
  assert.throws(() => convDemoData({ ...CS231N_DEMO, n: 2.5 }), RangeError);
});

Deno.test("convDemoCore().terms() adds up to each output, with F*F products per channel", () => {
  const d = convDemoData({ n: 6, f: 4, stride: 2, pad: 1, k: 3 }, 9);
  for (let oh = 0; oh < d.size; oh++) {
    for (let ow = 0; ow < d.size; ow++) {
      for (let k = 0; k < 3; k++) {
        const t = js.terms(d, oh, ow, k);
        assert.deepEqual(t.channels.map((c) => c.length), [16, 16, 16]);
        assert.equal(t.total, d.out[(oh * d.size + ow) * 3 + k]);
        assert.equal(t.bias, d.b[k]);
      }
    }
  }
});

/** A stand-in for the widget's root element: keeps its HTML and listeners, fires events. */
function fakeRoot(id: string) {
  const listeners: Record<string, ((e: WidgetEvent) => void)[]> = {};
  const root = {
    id,
    innerHTML: "",
    addEventListener(type: string, f: (e: WidgetEvent) => void) {
      (listeners[type] ??= []).push(f);
    },
    fire(type: string, attrs: Record<string, string>, value?: string) {
      const target = { getAttribute: (a: string) => attrs[a] ?? null, value };
      for (const f of listeners[type] ?? []) f({ target });
    },
  };
  return root;
}

function outputsShown(html: string, k: number): number[] {
  // the numbers of the output tables o[:,:,0] .. o[:,:,k-1]: the cells after "Output volume"
  const part = html.slice(html.indexOf("Output volume"), html.indexOf("-sum"));
  const tables = part.split(/<div>o\[:,:,\d\]<\/div>/).slice(1, k + 1);
  return tables.map((t) =>
    [...t.matchAll(/<td[^>]*>(?:<b>)?(-?\d+)(?:<\/b>)?<\/td>/g)].map((m) => Number(m[1]))
  )
    .flat();
}

Deno.test("mount() steps, recomputes on a control change, and refuses a stride that does not fit", () => {
  const d = convDemoData(CS231N_DEMO, 0);
  const root = fakeRoot("t1");
  js.mount(root, d);
  assert.match(root.innerHTML, /step 1 of 18/);
  assert.equal((root.innerHTML.match(/<select/g) ?? []).length, 5);
  root.fire("click", { "data-action": "next" });
  assert.match(root.innerHTML, /step 2 of 18/);
  assert.match(root.innerHTML, /o\[0,1,0\] =/);
  root.fire("click", { "data-action": "prev" });
  root.fire("click", { "data-action": "prev" });
  assert.match(root.innerHTML, /step 18 of 18/);
  assert.match(root.innerHTML, /o\[2,2,1\] =/);

  // S = 3 does not fit: the kit's message, and the volume stays
  root.fire("change", { "data-setting": "stride" }, "3");
  const msg = kitMessage(() => outputSize(5, 3, 3, 1, "convDemo"))!;
  assert.ok(root.innerHTML.includes(msg.replace(/>/g, "&gt;")), root.innerHTML.slice(0, 2000));
  assert.match(root.innerHTML, /output 3x3x2/);
  assert.match(
    root.innerHTML,
    /<option value="3" selected>3<\/option><\/select><\/label><label[^>]*>P/,
  );

  // N = 7 then fits again ((7 - 3 + 2) / 3 + 1 = 3): the volume of the kit for those settings
  root.fire("change", { "data-setting": "n" }, "7");
  assert.doesNotMatch(root.innerHTML, /refused/);
  const kit = convDemoData({ n: 7, f: 3, stride: 3, pad: 1, k: 2 }, 0);
  assert.deepEqual(
    outputsShown(root.innerHTML, 2),
    [0, 1].flatMap((q) => Array.from({ length: 9 }, (_, i) => kit.out[i * 2 + q])),
  );
  assert.match(root.innerHTML, /step 1 of 18/);

  // play starts a timer, pause stops it
  root.fire("click", { "data-action": "play" });
  assert.match(root.innerHTML, />pause</);
  root.fire("click", { "data-action": "play" });
  assert.match(root.innerHTML, />play</);
});

Deno.test("mount() animation steps on its timer and stops once the element has left the page", async () => {
  const root = Object.assign(fakeRoot("t2"), { isConnected: true });
  js.mount(root, convDemoData(CS231N_DEMO, 0), 50);
  root.fire("click", { "data-action": "play" });
  const step = () => Number(root.innerHTML.match(/step (\d+) of 18/)?.[1]);
  for (let t = 0; t < 100 && step() < 2; t++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(step() >= 2, "the animation did not step");
  root.isConnected = false; // the cell re-ran: the next tick clears the timer
  await new Promise((r) => setTimeout(r, 100));
  const stopped = step();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(step(), stopped);
});

Deno.test("convDemo() bundle: static first step as HTML tables, one inline script, unique ids, an SVG fallback", async () => {
  const a = convDemo(), b = convDemo();
  assert.notEqual(a.id, b.id);
  const bundle = a[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(bundle).sort(), ["image/svg+xml", "text/html", "text/plain"]);
  const html = bundle["text/html"] as string;
  // before the script: the first step, without controls
  const staticPart = html.slice(0, html.indexOf("<script>"));
  assert.doesNotMatch(staticPart, /<select|<button/);
  assert.match(staticPart, /output 3x3x2/);
  // the first step is marked in bold too (a sanitizer may strip the colours): o[0,0,0], and
  // 27 input cells, 27 weights and the bias of W0 under it
  assert.match(staticPart, /o\[:,:,0\]<\/div><table[^>]*><tr><td[^>]*><b>/);
  assert.equal(staticPart.match(/<td[^>]*><b>/g)?.length, 27 + 27 + 1 + 1);
  assert.deepEqual(
    outputsShown(staticPart, 2),
    [0, 1].flatMap((q) => Array.from({ length: 9 }, (_, i) => a.data.out[i * 2 + q])),
  );
  // self-contained: one script, inline, nothing fetched
  assert.equal(html.match(/<script/g)?.length, 1);
  assert.equal(html.match(/<\/script>/g)?.length, 1);
  assert.doesNotMatch(html, /src=|href=|https?:|import\(/);
  assert.ok(html.includes(`var id = "${a.id}";`));
  assert.ok(html.startsWith(`<div id="${a.id}"`));
  assert.match(String(bundle["text/plain"]), /output 3x3x2/);
  // the SVG is a picture resvg can draw
  const png = pngSize(await svgToPng(bundle["image/svg+xml"] as string));
  assert.ok(png.width > 400 && png.height > 400, `${png.width}x${png.height}`);
  assert.ok(new ConvDemo(a.data, "x").html().startsWith('<div id="x"'));
});

Deno.test("convDemo() script runs on its own and mounts the widget from the embedded data", () => {
  const demo = convDemo(CS231N_DEMO, { id: "demo-a" });
  const html = demo.html();
  const script = html.slice(html.indexOf("<script>") + 8, html.lastIndexOf("</script>"));
  const root = fakeRoot("demo-a");
  const doc = { getElementById: (id: string) => id === "demo-a" ? root : null };
  new Function("document", "setTimeout", script)(doc, setTimeout);
  assert.match(root.innerHTML, /step 1 of 18/);
  // not in the page yet: the element just before the script
  const detached = fakeRoot("demo-a");
  const noDoc = {
    getElementById: () => null,
    currentScript: { previousElementSibling: detached },
  };
  new Function("document", "setTimeout", script)(noDoc, setTimeout);
  assert.match(detached.innerHTML, /step 1 of 18/);
  // the script again on the same element (a second view of the output): one set of listeners
  new Function("document", "setTimeout", script)(doc, setTimeout);
  root.fire("click", { "data-action": "next" });
  assert.match(root.innerHTML, /step 2 of 18/);
  assert.deepEqual(outputsShown(root.innerHTML, 2), outputsShown(html, 2));
  const data: ConvDemoData = demo.data;
  assert.deepEqual(demo.shape, [3, 3, 2]);
  assert.equal(data.out.length, 18);
});

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Clicks and selects in a real page, then writes what the widget showed into <pre id="result">. */
const DRIVER = `(function () {
  var log = [];
  try {
    var root = document.querySelector(".convkit-conv-demo");
    var text = function (sel) { var e = root.querySelector(sel); return e ? e.textContent : null; };
    var note = function () {
      log.push({ step: text('[id$="-step"]'), error: text('[id$="-error"]'),
        head: root.firstElementChild.firstElementChild.textContent, sum: text('[id$="-sum"]') });
    };
    var set = function (key, v) {
      var s = root.querySelector('select[data-setting="' + key + '"]');
      s.value = String(v);
      s.dispatchEvent(new Event("change", { bubbles: true }));
    };
    note();
    root.querySelector('button[data-action="next"]').click(); note();
    set("stride", 3); note();
    set("n", 7); note();
  } catch (e) {
    log.push({ thrown: String(e) });
  }
  var pre = document.createElement("pre");
  pre.id = "result";
  pre.textContent = JSON.stringify(log);
  document.body.appendChild(pre);
})();`;

Deno.test({
  name:
    "convDemo() HTML works in headless Chromium: steps, refuses S=3 with the kit's message, redraws N=7",
  ignore: !hasChromium,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const page = `${dir}/demo.html`;
      await Deno.writeTextFile(
        page,
        `<!doctype html><html><head><meta charset="utf-8"></head><body>${convDemo().html()}` +
          `<script>${DRIVER}</script></body></html>`,
      );
      const { stdout } = await new Deno.Command(CHROMIUM, {
        args: [
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-extensions",
          "--disable-background-networking",
          "--disable-component-update",
          `--user-data-dir=${dir}/profile`,
          "--dump-dom",
          `file://${page}`,
        ],
        stdout: "piped",
        stderr: "null",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const dom = new TextDecoder().decode(stdout);
      const m = dom.match(/<pre id="result">(.*?)<\/pre>/s);
      assert.ok(m, "no result in the page");
      const unescape = (s: string) =>
        s.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(
          /&amp;/g,
          "&",
        );
      const log = JSON.parse(unescape(m[1]));
      assert.equal(log.length, 4, JSON.stringify(log));
      assert.equal(log[0].step, "step 1 of 18");
      assert.match(log[0].sum, /^o\[0,0,0\] = /);
      assert.equal(log[1].step, "step 2 of 18");
      assert.match(log[1].sum, /^o\[0,1,0\] = x\[0:3, 2:5, :\]/);
      const msg = kitMessage(() => outputSize(5, 3, 3, 1, "convDemo"));
      assert.equal(log[2].error, `refused: ${msg} (showing the last setting that fits)`);
      assert.match(log[2].head, /output 3x3x2/);
      assert.equal(log[3].error, null);
      assert.match(
        log[3].head,
        /input 7x7x3 .* stride 3, pad 1: output 3x3x2, \(7 - 3 \+ 2\) \/ 3 \+ 1 = 3/,
      );
      const kit = convDemoData({ n: 7, f: 3, stride: 3, pad: 1, k: 2 }, 0);
      assert.match(log[3].sum, new RegExp(`= ${kit.out[0]}$`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("convDemo() refuses an id that would not be a plain HTML id (it goes into the page)", () => {
  assert.throws(
    () => convDemo(undefined, { id: '"><img src=x onerror=alert(1)>' }),
    /must be a letter/,
  );
  assert.match(String(convDemo(undefined, { id: "demo-1" }).html()).slice(0, 40), /id="demo-1"/);
});
