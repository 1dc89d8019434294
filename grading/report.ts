/**
 * Grading reports as readable text, JSON and JUnit XML (for CI systems and learning platforms).
 *
 * @module
 */
import type { Report } from "./grader.ts";

/** A message on one line: newlines and control characters cannot forge report lines. */
export function oneLine(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
}

/** The report as text: one line per exercise, then the failed cases with what went wrong. */
export function reportText(r: Report): string {
  const lines = [
    `convkit grade: ${r.submission} (student ${r.student}, ${
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
  if (r.denied.length) {
    lines.push(
      "",
      "the sandbox refused (no reading outside the submission, no network, no processes):",
    );
    for (const d of r.denied) lines.push(`  ${d}`);
  }
  return lines.join("\n") + "\n";
}

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
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
  const quote = (s: string) => /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  const head = ["submission", "student", "points", "max_points", ...ids, "error"].join(",");
  const rows = reports.map(({ name, report, error }) =>
    report
      ? [
        quote(name),
        quote(report.student),
        report.points,
        report.maxPoints,
        ...report.exercises.map((e) => e.points),
        "",
      ].join(",")
      : [quote(name), "", 0, "", ...ids.map(() => ""), quote(error ?? "not graded")].join(",")
  );
  return [head, ...rows].join("\n") + "\n";
}
