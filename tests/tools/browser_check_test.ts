import assert from "node:assert/strict";
import { findChromium, launchChromium } from "../../tools/chromium.ts";
import { checkFigures, checkHtml } from "../../tools/browser_check.ts";
import type { Browser } from "puppeteer-core";

// Real Chromium on hand-made pages shaped like nbconvert's HTML (lab template: .jp-CodeCell,
// .jp-OutputArea-output); `deno task test` installs Chromium before it runs the browser check.
const chromium = findChromium();
const ignore = chromium === undefined;
if (ignore) console.warn("browser_check_test: no Chromium found; `deno task test` installs it");

function page(...outputs: string[]): string {
  const cells = outputs.map((o) =>
    `<div class="jp-Cell jp-CodeCell"><div class="jp-OutputArea"><div class="jp-OutputArea-output">${o}</div></div></div>`
  );
  return `<!doctype html><html><body>${cells.join("\n")}</body></html>`;
}

// a 1x1 PNG (hand-assembled: signature, IHDR 1x1 grey, IDAT, IEND)
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";
const svg = (body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" font-size="12">${body}</svg>`;

async function withBrowser(
  fn: (check: (html: string) => Promise<string[]>, browser: Browser) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "convkit_browser_" });
  const browser = await launchChromium(chromium!);
  let n = 0;
  try {
    await fn(async (html) => {
      const file = `${dir}/p${++n}.html`;
      await Deno.writeTextFile(file, html);
      return await checkHtml(browser, file, `${dir}/p${n}.png`);
    }, browser);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "browser check in Chromium (one browser for the steps)",
  ignore,
  fn: (t) =>
    withBrowser(async (check, browser) => {
      await t.step(
        "checkHtml() passes a page whose image loads, texts stand apart and script draws",
        async () => {
          const problems = await check(page(
            `<img src="data:image/png;base64,${PNG}">`,
            svg(
              `<rect width="10" height="10"/><text x="5" y="20">left</text><text x="120" y="80">right</text>`,
            ),
            `<div id="w"></div><script>document.getElementById("w").append(document.createElement("canvas"));
           const c = document.querySelector("#w canvas"); c.getContext("2d").fillRect(0, 0, 5, 5);</script>`,
          ));
          assert.deepEqual(problems, []);
        },
      );

      await t.step(
        "checkHtml() reports a broken image, a page error and a script that drew nothing",
        async () => {
          const problems = await check(page(
            `<img src="data:image/png;base64,AAAA">`,
            `<script>throw new Error("boom in a figure")</script>`,
            `<div>static</div><script>const unused = 1;</script>`,
          ));
          const text = problems.join("\n");
          assert.match(text, /code cell 1: image 1 did not load/);
          assert.match(text, /page error: .*boom in a figure/);
          assert.match(text, /code cell 3: its script drew nothing/);
        },
      );

      await t.step("checkHtml() reports a broken image in a markdown cell too", async () => {
        const problems = await check(
          page(`<img src="data:image/png;base64,${PNG}">`).replace(
            "<body>",
            `<body><div class="jp-Cell jp-MarkdownCell"><img src="missing-diagram.png"></div>`,
          ),
        );
        assert.match(problems.join("\n"), /markdown cell 1: image 1 did not load/);
      });

      await t.step(
        "checkHtml() reports SVG texts that overlap and text cut at the figure's edge",
        async () => {
          // two labels 2 px apart overlap by about their whole height; "edge" starts 30 px left of the SVG
          const problems = await check(page(svg(
            `<text x="50" y="50">first label</text><text x="52" y="52">second label</text>` +
              `<text x="-30" y="90">edge label</text>`,
          )));
          const text = problems.join("\n");
          assert.match(text, /texts "first label" and "second label" overlap by 1\d\.\d px/);
          assert.match(text, /text "edge label" sticks out of the figure by 30\.0 px/);
          assert.equal(problems.length, 2);
        },
      );

      await t.step(
        "checkHtml() reports an output wider than the page (cut at the right)",
        async () => {
          // a 3000 px wide cell in a 1200 px viewport, in an output that scrolls sideways
          const wide = `<td style="min-width: 3000px">wide</td>`;
          const problems = await check(
            page(`<table><tr>${wide}</tr></table>`).replace(
              "<body>",
              "<body><style>.jp-OutputArea-output { overflow-x: auto }</style>",
            ),
          );
          assert.equal(problems.length, 1, problems.join("\n"));
          assert.match(problems[0], /code cell 1: div is \d+ px too wide: cut at the right/);
        },
      );

      await t.step(
        "checkFigures() measures a rotated label where the browser turns it",
        async () => {
          const dir = await Deno.makeTempDir({ prefix: "convkit_figs_" });
          // A 12 px y-axis title turned -90 degrees about (20, 90) spans x in about [9, 23] (its font
          // box: 0.93 em ascent, 0.24 em descent) and y in [20, 90]; a tick label starting at x=26 is
          // clear of it. Unturned, it would run from x=20 to the right, through the tick label. Second
          // figure: a horizontal text drawn through the turned one.
          const title = `<text transform="translate(20,90) rotate(-90)">y axis title</text>`;
          await Deno.writeTextFile(`${dir}/001.svg`, svg(`${title}<text x="26" y="50">10</text>`));
          await Deno.writeTextFile(
            `${dir}/002.svg`,
            svg(`${title}<text x="5" y="40">crossing</text>`),
          );
          try {
            const problems = await checkFigures(browser, dir);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], /002\.svg .*texts "y axis title" and "crossing" overlap/);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      );
    }),
});
