/**
 * One simulated student of `deno task hub-check`, through JupyterHub's REST API and the student's
 * Notebook server, as a browser would: log in (a user and a token made by the hub's admin API),
 * start the server, open a lecture notebook, write exercise ex1 in `lib/shape.ts` (the contents API,
 * what the browser's editor saves through), run the notebook's cells in a Deno kernel over its
 * websocket, run ex1's check cell, and run `deno task grade --only ex1` in a terminal.
 *
 * JupyterHub REST API: https://jupyterhub.readthedocs.io/en/3.0.0/reference/rest-api.html;
 * Notebook server API: https://github.com/jupyter/jupyter_server/blob/main/jupyter_server/services/api/api.yaml
 *
 * @module
 */
import { KernelClient } from "./kernel_client.ts";

/** The hub as the check sees it. */
export interface Hub {
  /** Public URL of the proxy, e.g. `http://127.0.0.1:8000/`. */
  url: string;
  /** The check's service token (admin:users, admin:servers, tokens). */
  token: string;
}

/** What a student's session gave; times in seconds from the moment their server was asked for. */
export interface StudentResult {
  name: string;
  ok: boolean;
  /** The step that failed and why. */
  error?: string;
  /** Server ready (the spawn finished and the hub saw it answer). */
  serverReady?: number;
  /** First output of the lecture notebook's cells in a fresh kernel. */
  firstOutput?: number;
  /** Lecture notebook done. */
  lectureDone?: number;
  /** ex1's check cell done (and passed). */
  checkDone?: number;
  /** `deno task grade --only ex1` done in the terminal. */
  gradeDone?: number;
  /** Times the kernel's websocket had to be opened again. */
  reconnects?: number;
}

/** What each student does. */
export interface Lesson {
  /** Path of the lecture notebook inside the edition, e.g. `notebooks/02_spatial_arithmetic.ipynb`. */
  notebook: string;
  /** Text of `lib/shape.ts` with ex1 written. */
  shapeWithEx1: string;
  /** Run `deno task grade --only ex1` in a terminal. */
  grade: boolean;
  /** Seconds a student may take in all before the check gives up on them. */
  timeoutS: number;
  /** Called once the student's server is ready (the check's test kills one student's server here). */
  onReady?: (name: string) => void | Promise<void>;
}

async function api(
  url: string,
  token: string,
  method = "GET",
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const r = await fetch(url, {
    method,
    headers: { Authorization: `token ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : null;
  } catch { /* an HTML error page */ }
  if (r.status >= 400) {
    throw new Error(`${method} ${new URL(url).pathname} -> ${r.status}: ${text.slice(0, 300)}`);
  }
  return { status: r.status, json };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Cell = { cell_type: string; source: string | string[] };
const src = (c: Cell) => Array.isArray(c.source) ? c.source.join("") : c.source;

/**
 * Runs one student's session; never throws: a failure is returned with the step it happened in.
 * The student's kernel is left running (as a student's would be after a lecture), so that memory
 * can be measured; the hub's clean-up stops it.
 */
export async function runStudent(
  hub: Hub,
  name: string,
  lesson: Lesson,
  existing?: { token: string },
): Promise<StudentResult> {
  const res: StudentResult = { name, ok: false };
  const hubApi = `${hub.url}hub/api/users/${name}`;
  let step = "create the user";
  const deadline = Date.now() + lesson.timeoutS * 1000;
  let t0 = performance.now();
  const since = () => Math.round(performance.now() - t0) / 1000;
  let kernel: KernelClient | undefined;
  try {
    // an existing account (a real install's student) comes with their own token, which also starts
    // their server; otherwise the check's service makes the student and their token
    let token = existing?.token ?? "";
    if (!existing) {
      await api(hubApi, hub.token, "POST");
      step = "make the student's token";
      const tok = await api(`${hubApi}/tokens`, hub.token, "POST", { note: "hub-check" });
      token = (tok.json as { token: string }).token;
    }
    hub = existing ? { ...hub, token } : hub;

    step = "start the server";
    t0 = performance.now();
    await api(`${hubApi}/server`, hub.token, "POST");
    for (;;) {
      const u = (await api(hubApi, hub.token)).json as {
        servers?: Record<string, { ready: boolean; pending: string | null }>;
        pending?: string | null;
      };
      const s = u.servers?.[""];
      if (s?.ready) break;
      if (!s && !u.pending) throw new Error("the server stopped before it was ready (see hub.log)");
      if (Date.now() > deadline) throw new Error(`not ready after ${lesson.timeoutS} s`);
      await sleep(500);
    }
    res.serverReady = since();
    await lesson.onReady?.(name);
    const server = `${hub.url}user/${name}/`;

    step = `open ${lesson.notebook}`;
    const nb = (await api(`${server}api/contents/${lesson.notebook}?content=1`, token)).json as {
      content: { cells: Cell[] };
    };
    const assignment = (await api(`${server}api/contents/notebooks/15_assignment.ipynb`, token))
      .json as { content: { cells: Cell[] } };

    step = "save lib/shape.ts with ex1 written";
    await api(`${server}api/contents/lib/shape.ts`, token, "PUT", {
      type: "file",
      format: "text",
      content: lesson.shapeWithEx1,
    });

    step = "start a Deno kernel";
    // a session, as the browser opens a notebook: the kernel's working directory is the notebook's folder
    const session = (await api(`${server}api/sessions`, token, "POST", {
      path: lesson.notebook,
      name: lesson.notebook.split("/").pop(),
      type: "notebook",
      kernel: { name: "deno" },
    })).json as { kernel: { id: string } };
    // Notebook 6 completes the websocket once the kernel answers kernel_info, or after its 60 s
    // kernel_info_timeout; a browser that gets no socket reconnects, and so does the check (once)
    try {
      kernel = await KernelClient.connect(server, session.kernel.id, token, 90_000);
    } catch (e) {
      res.reconnects = (res.reconnects ?? 0) + 1;
      console.log(`[hub-check] ${name}: ${e instanceof Error ? e.message : e}; reconnecting`);
      kernel = await KernelClient.connect(server, session.kernel.id, token, 90_000);
    }

    const left = () => Math.max(1000, deadline - Date.now());
    for (const [i, cell] of nb.content.cells.entries()) {
      if (cell.cell_type !== "code" || !src(cell).trim()) continue;
      step = `run ${lesson.notebook} cell ${i + 1}`;
      const r = await kernel.execute(src(cell), left());
      if (r.firstOutputAt && res.firstOutput === undefined) {
        res.firstOutput = Math.round(r.firstOutputAt - performance.timeOrigin - t0) / 1000;
      }
      if (r.status !== "ok") throw new Error(r.error ?? r.status);
    }
    res.lectureDone = since();

    step = "run ex1's check cell";
    // the assignment's imports (its first code cell) and the ex1 check cell, as the student runs them
    const code = assignment.content.cells.filter((c) => c.cell_type === "code").map(src);
    const check = code.find((s) => s.includes('checkExercise("ex1")'));
    if (!check) throw new Error("15_assignment.ipynb has no ex1 check cell");
    for (
      const cell of [code[0], check, 'if (!check_ex1.passed) throw new Error("ex1 did not pass");']
    ) {
      const r = await kernel.execute(cell, left());
      if (r.status !== "ok") throw new Error(`${r.error ?? r.status}\n${r.text.slice(-500)}`);
    }
    res.checkDone = since();

    if (lesson.grade) {
      step = "run deno task grade --only ex1 in a terminal";
      await gradeInTerminal(server, token, left());
      res.gradeDone = since();
    }
    res.ok = true;
  } catch (e) {
    res.error = `${step}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    kernel?.close();
  }
  return res;
}

/** Opens a terminal (terminado's websocket), runs the grader on ex1, and checks it graded ex1. */
async function gradeInTerminal(server: string, token: string, timeoutMs: number) {
  const t = (await api(`${server}api/terminals`, token, "POST")).json as { name: string };
  const url = new URL(`terminals/websocket/${t.name}`, server);
  url.protocol = url.protocol.replace("http", "ws");
  url.searchParams.set("token", token);
  const ws = new WebSocket(url.href);
  let out = "";
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer in ${timeoutMs / 1000} s: ${out.slice(-300)}`)),
        timeoutMs,
      );
      ws.onopen = () =>
        ws.send(
          JSON.stringify([
            "stdin",
            "cd ~/convkit && deno task grade --only ex1; echo CONVKIT-DONE-$?\r",
          ]),
        );
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error("terminal websocket failed"));
      };
      ws.onmessage = (e) => {
        const [kind, text] = JSON.parse(String(e.data));
        if (kind !== "stdout") return;
        out += text;
        const m = out.match(/CONVKIT-DONE-(\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
    });
    // deno task grade prints a line per exercise, "✓ ex1  ...  5.0 / 5   visible 6/6"
    const m = out.match(/ex1 .*visible (\d+)\/(\d+)/);
    if (code !== 0 || !m || m[1] !== m[2]) {
      throw new Error(`grade did not pass ex1 (exit ${code}): ${out.slice(-400)}`);
    }
  } finally {
    ws.close();
    await api(`${server}api/terminals/${t.name}`, token, "DELETE").catch(() => {});
  }
}
