/**
 * Hidden test cases: in the instructor's tree only. `deno task release` leaves this folder out, and the
 * grader never sends its expected values into the sandbox; students see only whether each passed.
 *
 * @module
 */
import { build, type Case, variantRng } from "../cases.ts";

/** Hidden cases for one student: sizes and hyperparameters drawn from a generator seeded by the student's id. */
export function hiddenCases(student: string): Case[] {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  const pick = <T>(g: { int(n: number): number }, xs: readonly T[]) => xs[g.int(xs.length)];

  let g = variantRng(student, "ex1");
  const n = pick(g, [9, 11, 13, 15, 17]), f = pick(g, [3, 5]);
  add(build.outputSize("ex1/hidden/1", true, n, f, 2, 0)); // n odd, f odd: fits
  add(build.outputSize("ex1/hidden/2", true, n + 1, f, 2, 0)); // does not fit
  add(build.outputSize("ex1/hidden/3", true, 56, 3, 2, 1, "floor"));
  add(build.outputSize("ex1/hidden/5", true, n, f, 1, (f - 1) / 2)); // "same" padding keeps n
  add(build.outputSize("ex1/hidden/4", true, 3, 5, 1, 0)); // filter larger than the input

  g = variantRng(student, "ex2.1");
  const c = pick(g, [1, 2, 3]), k = pick(g, [2, 3, 5]);
  add(build.convForward("ex2.1/hidden/1", true, g, [2, 7, 9, c], [3, 3, c, k], 2, 1)); // non-square
  add(build.convForward("ex2.1/hidden/2", true, g, [1, 6, 6, 4], [1, 1, 4, k], 1, 0)); // 1x1
  add(build.convForward("ex2.1/hidden/3", true, g, [2, 8, 6, c], [5, 5, c, 2], 1, 2));

  g = variantRng(student, "ex2.2");
  add(build.convBackward("ex2.2/hidden/1", true, g, [2, 7, 9, c], [3, 3, c, k], 2, 1));
  add(build.convBackward("ex2.2/hidden/2", true, g, [1, 6, 6, 4], [1, 1, 4, k], 1, 0));
  add(build.convBackward("ex2.2/hidden/3", true, g, [1, 9, 9, 3], [3, 3, 3, 2], 3, 0));

  g = variantRng(student, "ex3");
  add(build.maxPool("ex3.1/hidden/1", true, g, [1, 7, 7, 2], 3, 2, false)); // overlapping windows
  add(build.maxPool("ex3.1/hidden/2", true, g, [2, 6, 4, 3], 2, 2, false));
  add(build.maxPool("ex3.2/hidden/1", true, g, [1, 7, 7, 2], 3, 2, true));
  add(build.maxPool("ex3.2/hidden/2", true, g, [2, 6, 4, 3], 2, 2, true));

  g = variantRng(student, "ex4");
  add(build.im2colConv("ex4.1/hidden/1", true, g, [2, 7, 9, c], [3, 3, c, k], 2, 1, false));
  add(build.im2colConv("ex4.1/hidden/2", true, g, [1, 6, 6, 2], [4, 4, 2, 3], 2, 1, false));
  add(build.im2colConv("ex4.2/hidden/1", true, g, [2, 7, 9, c], [3, 3, c, k], 2, 1, true));
  add(build.im2colConv("ex4.2/hidden/2", true, g, [1, 6, 6, 2], [4, 4, 2, 3], 2, 1, true));

  g = variantRng(student, "ex5");
  add(build.batchnorm("ex5.1/hidden/1", true, g, [3, 4, 5, 2], "train", false));
  add(build.batchnorm("ex5.1/hidden/2", true, g, [2, 3, 3, 4], "test", false));
  add(build.batchnorm("ex5.2/hidden/1", true, g, [3, 4, 5, 2], "train", true));
  add(build.batchnorm("ex5.2/hidden/2", true, g, [2, 3, 3, 4], "test", true));

  g = variantRng(student, "ex6");
  add(build.threeLayerNet("ex6/hidden/1", true, g, 3, [8, 6, 2], 3, 5, 0));
  add(build.threeLayerNet("ex6/hidden/2", true, g, 2, [4, 4, 3], 2, 3, 0.5));

  g = variantRng(student, "ex7");
  const size = pick(g, [28, 56, 112]), filters = pick(g, [32, 64, 128, 256]);
  add(build.counts("ex7/hidden/1", true, [size, size, 64], filters, 3, 1, 1));
  add(build.counts("ex7/hidden/2", true, [size, size, 64], filters, 3, 2, 1)); // rounds down for even sizes
  add(build.counts("ex7/hidden/3", true, [size, size, 64], filters, 1, 1, 0, { bn: true }));
  add(build.counts("ex7/hidden/4", true, [27, 27, 96], 256, 5, 1, 2, { groups: 2 })); // AlexNet CONV2 on two GPUs
  return cases;
}
