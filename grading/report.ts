/**
 * Grading reports as readable text, JSON and JUnit XML (for CI systems and learning platforms).
 *
 * @module
 */
import type { Report } from "./grader.ts";

/** A message on one line: newlines and control characters cannot forge report lines. */
export function oneLine(s: string): string {
  return String(s)
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]+/g, " ")
    .trim();
}

/** The report as text: one line per exercise, then the failed cases with what went wrong. */
export function reportText(r: Report): string {
  const lines = [
    `convkit grade: ${oneLine(r.submission)} (student ${oneLine(r.student)}, ${
      r.mode === "instructor"
        ? "visible and hidden tests"
        : "visible tests only, drawn afresh at each run: your grade also has hidden tests, which carry most of each exercise's points"
    })`,
    "",
  ];
  for (const e of r.exercises) {
    const passed = e.cases.filter((c) => c.passed).length;
    const vis = e.cases.filter((c) => !c.hidden), hid = e.cases.filter((c) => c.hidden);
    const counts = `visible ${vis.filter((c) => c.passed).length}/${vis.length}` +
      (hid.length ? `, hidden ${hid.filter((c) => c.passed).length}/${hid.length}` : "");
    lines.push(
      `${passed === e.cases.length ? "✓" : "✗"} ${e.id.padEnd(6)} ${e.title.padEnd(58)} ${
        e.points.toFixed(1).padStart(5)
      } / ${String(e.maxPoints).padEnd(3)} ${counts}${e.timedOut ? "  TIMED OUT" : ""}`,
    );
    for (const c of e.cases.filter((x) => !x.passed)) {
      lines.push(`      ${oneLine(c.name)}: ${oneLine(c.message ?? "failed")}`);
    }
    for (const n of e.notes ?? []) lines.push(`      note: ${oneLine(n)}`);
  }
  lines.push("", `total ${r.points.toFixed(1)} / ${r.maxPoints}`);
  if (r.student === "anonymous") {
    lines.push(
      "",
      'no student id: put yours in student.json ({ "id": "your-id" }); your hidden tests are drawn for it',
    );
  }
  if (r.denied.length) {
    lines.push(
      "",
      "the sandbox refused (no reading outside the submission, no network, no processes):",
    );
    for (const d of r.denied) lines.push(`  ${oneLine(d)}`);
  }
  return lines.join("\n") + "\n";
}

/** Text as an XML attribute value: escaped, and without the characters XML 1.0 cannot hold. */
export function xml(s: string): string {
  return s
    // deno-lint-ignore no-control-regex
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, "\ufffd")
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
}

/**
 * One CSV cell: quoted when it must be, and a cell a spreadsheet would run as a formula (`=`, `+`, `-`,
 * `@`, a tab or a carriage return first) made text with a leading `'` (OWASP's CSV injection advice).
 *
 * @example
 * ```ts
 * import { csvCell } from "grading/report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
 * assert.equal(csvCell("Smith, John"), '"Smith, John"');
 * assert.equal(csvCell(-1.5), "-1.5"); // numbers stay numbers
 * ```
 */
export function csvCell(v: string | number): string {
  if (typeof v === "number") return String(v);
  let s = oneLine(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",;\n']/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as JUnit XML: one test suite per exercise, one test case per case. */
export function reportJunit(r: Report): string {
  const suites = r.exercises.map((e) => {
    const failures = e.cases.filter((c) => !c.passed).length;
    const cases = e.cases.map((c) =>
      `    <testcase classname="${xml(e.id)}" name="${xml(c.name)}">${
        c.passed ? "" : `<failure message="${xml(c.message ?? "failed")}"/>`
      }</testcase>`
    ).join("\n");
    return `  <testsuite name="${
      xml(`${e.id} ${e.title}`)
    }" tests="${e.cases.length}" failures="${failures}" time="${
      e.seconds.toFixed(3)
    }">\n    <properties><property name="points" value="${e.points}"/><property name="max_points" value="${e.maxPoints}"/></properties>\n${cases}\n  </testsuite>`;
  }).join("\n");
  const tests = r.exercises.reduce((s, e) => s + e.cases.length, 0);
  const failures = r.exercises.reduce((s, e) => s + e.cases.filter((c) => !c.passed).length, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="convkit grade ${
    xml(r.student)
  }" tests="${tests}" failures="${failures}">\n${suites}\n</testsuites>\n`;
}

/** One CSV line per report: student, total, then points per exercise. */
export function reportsCsv(reports: { name: string; report?: Report; error?: string }[]): string {
  const ids = reports.find((x) => x.report)?.report?.exercises.map((e) => e.id) ?? [];
  const head = ["submission", "student", "points", "max_points", ...ids, "error"].join(",");
  const rows = reports.map(({ name, report, error }) =>
    report
      ? [
        csvCell(name),
        csvCell(report.student),
        report.points,
        report.maxPoints,
        ...report.exercises.map((e) => e.points),
        "",
      ].join(",")
      : [csvCell(name), "", 0, "", ...ids.map(() => ""), csvCell(error ?? "not graded")].join(",")
  );
  return [head, ...rows].join("\n") + "\n";
}

/** One test of Gradescope's `results.json`. */
export interface GradescopeTest {
  name: string;
  number: string;
  score: number;
  max_score: number;
  status: "passed" | "failed";
  output: string;
  /** Visible cases are shown at once; hidden ones after the grades are published. */
  visibility: "visible" | "after_published";
}

/**
 * The report as Gradescope's autograder `results.json` (Gradescope's "Autograder Specifications": a
 * top-level `score`, `output`, `visibility`, `stdout_visibility` and one entry per test with `name`,
 * `number`, `score`, `max_score`, `status`, `output` and `visibility`). Hidden cases are
 * `after_published`, and say only what the report says of them; the visible summary states no total.
 */
export function reportGradescope(r: Report): {
  score: number;
  output: string;
  visibility: "visible";
  stdout_visibility: "hidden";
  tests: GradescopeTest[];
} {
  const tests = r.exercises.flatMap((e) => {
    // worths to a thousandth, the last case taking the rest, so that they add up to the exercise's points
    const worth = e.cases.map((c) => Math.round(c.maxPoints * 1000) / 1000);
    if (worth.length) {
      worth[worth.length - 1] = Math.round(
        (e.maxPoints - worth.slice(0, -1).reduce((a, w) => a + w, 0)) * 1000,
      ) / 1000;
    }
    return e.cases.map((c, i): GradescopeTest => ({
      name: oneLine(`${e.id} ${e.title}: ${c.name}`),
      number: `${e.id.replace(/^ex/, "")}.${i + 1}`,
      score: c.passed ? worth[i] : 0,
      max_score: worth[i],
      status: c.passed ? "passed" : "failed",
      output: c.passed ? "passed" : oneLine(c.message ?? "failed"),
      visibility: c.hidden ? "after_published" : "visible",
    }));
  });
  const notes = r.exercises.flatMap((e) => e.notes.map((n) => `${e.id}: ${oneLine(n)}`));
  return {
    score: r.points,
    // the summary states no total: it would tell how the hidden tests went before they are published
    output: [
      `convkit (student ${
        oneLine(r.student)
      }): the visible tests below; the hidden tests and the ` +
      "total are shown once grades are published",
      ...notes,
      ...r.denied.map((d) => `refused by the sandbox: ${oneLine(d)}`),
    ].join("\n"),
    visibility: "visible",
    stdout_visibility: "hidden",
    tests,
  };
}

/**
 * The class's points in the shape Canvas's gradebook imports ("Import" in Grades): the columns
 * `Student, ID, SIS User ID, SIS Login ID, Section` and one column for the assignment. Canvas matches a
 * row by `SIS Login ID`, which holds the id of `student.json` (ask students to use their login); the
 * others stay empty. Submissions that could not be graded get no points (an empty cell), so an import
 * never overwrites a grade with 0 by mistake.
 */
export function reportsGradebook(
  reports: { name: string; report?: Report; error?: string }[],
  assignment = "convkit assignment",
): string {
  const head = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment].map(csvCell);
  const rows = reports.map(({ name, report }) =>
    [
      csvCell(report?.student ?? name),
      "",
      "",
      csvCell(report?.student ?? ""),
      "",
      report ? String(report.points) : "",
    ].join(",")
  );
  return [head.join(","), ...rows].join("\n") + "\n";
}
