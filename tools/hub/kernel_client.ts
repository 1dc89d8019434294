/**
 * A Jupyter kernel driven from Deno the way a browser drives it: the Jupyter messaging protocol
 * (v5.3, JSON frames) over a Notebook server's `/api/kernels/{id}/channels` websocket, reached
 * through JupyterHub's proxy with the student's API token.
 *
 * Protocol: https://jupyter-client.readthedocs.io/en/stable/messaging.html (execute_request,
 * iopub `stream`/`display_data`/`execute_result`/`error`, `status: idle`); the websocket framing of
 * classic Notebook 6 sends one JSON message per text frame with a `channel` field.
 *
 * @module
 */

/** What one executed cell gave. */
export interface CellResult {
  /** `ok` or `error` (from the kernel's execute_reply), or `timeout`. */
  status: "ok" | "error" | "timeout";
  /** Text of every output, in order (stream text, `text/plain` of displays and results). */
  text: string;
  /** `ename: evalue` of an error output, when there was one. */
  error?: string;
  /** ms since the epoch (performance.timeOrigin-based) of the cell's first output, if any. */
  firstOutputAt?: number;
}

interface Message {
  channel: string;
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
}

/** One kernel's channels websocket; `execute()` runs cells one at a time. */
export class KernelClient {
  #ws: WebSocket;
  #session = crypto.randomUUID();
  #waiters = new Map<string, (m: Message) => void>();
  #closed?: string;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as Message;
      const id = m.parent_header?.msg_id;
      if (id) this.#waiters.get(id)?.(m);
    };
    ws.onclose = (e) => {
      this.#closed = `websocket closed (${e.code}${e.reason ? ` ${e.reason}` : ""})`;
      for (const w of this.#waiters.values()) {
        w({
          channel: "closed",
          header: { msg_id: "", msg_type: "closed" },
          parent_header: {},
          content: {},
        });
      }
    };
  }

  /**
   * Opens the channels of kernel `kernelId` of the server at `serverUrl` (e.g.
   * `http://127.0.0.1:8000/user/ada/`).
   *
   * @throws {Error} when the websocket does not open within `timeoutMs`
   */
  static async connect(
    serverUrl: string,
    kernelId: string,
    token: string,
    timeoutMs = 60_000,
  ): Promise<KernelClient> {
    const url = new URL(`api/kernels/${kernelId}/channels`, serverUrl);
    url.protocol = url.protocol.replace("http", "ws");
    url.searchParams.set("token", token);
    const ws = new WebSocket(url.href);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        ws.close();
        reject(new Error(`kernel websocket did not open in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(t);
        resolve();
      };
      ws.onerror = (e) => {
        clearTimeout(t);
        reject(new Error(`kernel websocket failed: ${(e as ErrorEvent).message ?? "error"}`));
      };
    });
    return new KernelClient(ws);
  }

  /**
   * Runs `code` as one cell and waits for the kernel's reply and for its status to go idle, then
   * keeps reading `graceMs` more, because Deno's kernel can publish a cell's last outputs after idle
   * (PLATFORM.md, "Outputs can be lost").
   */
  execute(code: string, timeoutMs = 300_000, graceMs = 250): Promise<CellResult> {
    if (this.#closed) return Promise.resolve({ status: "error", text: "", error: this.#closed });
    const msgId = crypto.randomUUID();
    const result: CellResult = { status: "ok", text: "" };
    return new Promise((resolve) => {
      let replied = false, idle = false;
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = (status?: CellResult["status"]) => {
        clearTimeout(timer);
        clearTimeout(graceTimer);
        this.#waiters.delete(msgId);
        if (status) result.status = status;
        resolve(result);
      };
      const timer = setTimeout(() => finish("timeout"), timeoutMs);
      const maybeDone = () => {
        if (!replied || !idle) return;
        clearTimeout(graceTimer);
        graceTimer = setTimeout(() => finish(), graceMs);
      };
      this.#waiters.set(msgId, (m) => {
        const c = m.content;
        switch (m.header.msg_type) {
          case "closed":
            result.error ??= this.#closed;
            return finish("error");
          case "stream":
            result.text += String(c.text);
            break;
          case "display_data":
          case "execute_result":
          case "update_display_data": {
            const data = c.data as Record<string, unknown> | undefined;
            result.text += `${data?.["text/plain"] ?? Object.keys(data ?? {}).join(",")}\n`;
            break;
          }
          case "error":
            result.error = `${c.ename}: ${c.evalue}`;
            result.text += `${result.error}\n`;
            break;
          case "execute_reply":
            replied = true;
            if (c.status !== "ok") result.status = "error";
            return maybeDone();
          case "status":
            if (c.execution_state === "idle") idle = true;
            return maybeDone();
          default:
            return;
        }
        result.firstOutputAt ??= Date.now();
        if (idle && replied) maybeDone(); // a late output: wait the grace again
      });
      this.#ws.send(JSON.stringify({
        channel: "shell",
        header: {
          msg_id: msgId,
          msg_type: "execute_request",
          session: this.#session,
          username: "convkit-hub-check",
          date: new Date().toISOString(),
          version: "5.3",
        },
        parent_header: {},
        metadata: {},
        content: {
          code,
          silent: false,
          store_history: true,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        },
        buffers: [],
      }));
    });
  }

  /** Closes the websocket (the kernel keeps running until the server shuts it down). */
  close() {
    try {
      this.#ws.close();
    } catch { /* already closed */ }
  }
}
