/**
 * `deno task reset exN [exN ...]`: puts an exercise's stub back in a student edition, after saving the
 * file as it is beside it (`lib/<file>.<exN>-<time>.bak`), so nothing is lost. The stub comes from
 * `grading/stubs.json`, written by `deno task release`. Other exercises in the same file are left as
 * they are. `deno task reset --file lib/<file>` restores a whole file (for when its markers were
 * deleted), saving it first the same way.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exercise } from "./exercises.ts";
import { STUDENT_BEGIN, STUDENT_END } from "./release.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Thrown when a reset cannot be done; the message says what to do instead. */
export class ResetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResetError";
  }
}

/** The lines of one exercise's region, markers included: [start, end] line indexes, or undefined. */
export function findRegion(lines: readonly string[], id: string): [number, number] | undefined {
  const start = lines.findIndex((l) => l.match(STUDENT_BEGIN)?.[2] === id);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.match(STUDENT_END)?.[1] === id);
  return end < 0 ? undefined : [start, end];
}

/**
 * Replaces exercise `id`'s region of `current` by the one in `released`.
 *
 * @throws {ResetError} when either text lacks the region's markers
 * @example
 * ```ts
 * import { resetRegion } from "grading/reset.ts";
 * import assert from "node:assert/strict";
 * const stub = "f() {\n  // BEGIN EXERCISE ex1 (x)\n  throw 1;\n  // END EXERCISE ex1\n}";
 * const mine = "f() {\n  // BEGIN EXERCISE ex1 (x)\n  return 2;\n  // END EXERCISE ex1\n}";
 * assert.equal(resetRegion(mine, stub, "ex1", "f.ts"), stub);
 * ```
 */
export function resetRegion(current: string, released: string, id: string, file: string): string {
  const mine = current.split("\n"), stub = released.split("\n");
  const a = findRegion(mine, id), b = findRegion(stub, id);
  if (!b) throw new ResetError(`grading/stubs.json has no region ${id} in ${file}`);
  if (!a) {
    throw new ResetError(
      `the lines "// BEGIN EXERCISE ${id}" and "// END EXERCISE ${id}" are no longer in ${file}: ` +
        `restore the whole file with "deno task reset --file ${file}" (your version is saved first)`,
    );
  }
  return [...mine.slice(0, a[0]), ...stub.slice(b[0], b[1] + 1), ...mine.slice(a[1] + 1)].join(
    "\n",
  );
}

async function stubs(): Promise<Record<string, string>> {
  try {
    return JSON.parse(await Deno.readTextFile(`${root}/grading/stubs.json`));
  } catch {
    throw new ResetError(
      "grading/stubs.json is missing: reset works in a student edition (deno task release writes it)",
    );
  }
}

async function save(file: string, tag: string): Promise<string> {
  const time = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 23);
  for (let n = 1;; n++) {
    const backup = `${file}.${tag}-${time}${n > 1 ? `-${n}` : ""}.bak`;
    try {
      // createNew: an earlier backup is never overwritten, however fast resets follow each other
      const text = await Deno.readFile(`${root}/${file}`);
      await Deno.writeFile(`${root}/${backup}`, text, { createNew: true });
      return backup;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { file: { type: "string" } },
    allowPositionals: true,
  });
  try {
    const released = await stubs();
    if (values.file) {
      const file = values.file.replace(/^\.\//, "");
      if (!(file in released)) {
        throw new ResetError(
          `${file} holds no exercise; the files that do: ${Object.keys(released).join(", ")}`,
        );
      }
      const backup = await save(file, "file");
      await Deno.writeTextFile(`${root}/${file}`, released[file]);
      console.log(`restored ${file} as released; your version is saved as ${backup}`);
    }
    if (!positionals.length && !values.file) {
      throw new ResetError("name the exercises to reset, e.g. deno task reset ex2.1");
    }
    for (const id of new Set(positionals)) {
      let ex;
      try {
        ex = exercise(id);
      } catch (e) {
        throw new ResetError((e as Error).message);
      }
      const file = `lib/${ex.file}`;
      const current = await Deno.readTextFile(`${root}/${file}`);
      const next = resetRegion(current, released[file], id, file);
      if (next === current) {
        console.log(`${id} in ${file} is already its stub: nothing to reset`);
        continue;
      }
      const backup = await save(file, id);
      await Deno.writeTextFile(`${root}/${file}`, next);
      console.log(`reset ${id} in ${file} to its stub; your version is saved as ${backup}`);
    }
  } catch (e) {
    if (!(e instanceof ResetError)) throw e;
    console.error(`reset: ${e.message}`);
    Deno.exit(2);
  }
}
