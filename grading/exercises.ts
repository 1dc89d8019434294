/**
 * The assignment's exercises: where each lives, what it is worth, and how long its tests may run.
 * Solutions are marked in `lib/` with `// BEGIN SOLUTION <id> <what to implement>` ... `// END SOLUTION`.
 *
 * Exercises use each other as in CS231n: the conv and pooling layers call your `convOutputSize` (ex1)
 * through their shape checks, max-pool backward needs your forward pass, and the ThreeLayerConvNet (ex6)
 * is made of your layers. The grader grades each on its own: while it grades one, every other exercise's
 * code is replaced by the right values for exactly the calls its cases make (see `isolate.ts`), so a
 * mistake costs only the exercise it is in.
 *
 * @module
 */

/** One exercise. */
export interface Exercise {
  id: string;
  title: string;
  /** File in `lib/` that holds the solution. */
  file: string;
  /** The exported function in `file` whose body holds the marked region. */
  fn: string;
  /**
   * Which arguments identify a call when the grader replaces this exercise by recorded right values
   * (default: all); e.g. ex1 leaves out `where`, which only names the caller in messages.
   */
  keyArgs?: readonly number[];
  points: number;
  /** How long all of its tests may run, in milliseconds (default 30 s). */
  timeLimitMs?: number;
}

/** Points of the whole assignment: `deno task release` refuses exercises whose points add up to another total. */
export const TOTAL_POINTS = 100;

/** The exercises, in course order; 100 points in all. */
export const EXERCISES: readonly Exercise[] = [
  {
    id: "ex1",
    title: "output-size arithmetic: convOutputSize",
    file: "shape.ts",
    fn: "convOutputSize",
    points: 5,
    keyArgs: [0, 1, 2, 3, 5],
  },
  {
    id: "ex2.1",
    title: "conv layer forward, naive: conv2dForward",
    file: "layers/conv2d.ts",
    fn: "conv2dForward",
    points: 10,
  },
  {
    id: "ex2.2",
    title: "conv layer backward, naive: conv2dBackward",
    file: "layers/conv2d.ts",
    fn: "conv2dBackward",
    points: 15,
  },
  {
    id: "ex3.1",
    title: "max pooling forward: maxPool2dForward",
    file: "layers/pool2d.ts",
    fn: "maxPool2dForward",
    points: 5,
  },
  {
    id: "ex3.2",
    title: "max pooling backward: maxPool2dBackward",
    file: "layers/pool2d.ts",
    fn: "maxPool2dBackward",
    points: 10,
  },
  { id: "ex4.1", title: "im2col convolution: im2col", file: "im2col.ts", fn: "im2col", points: 5 },
  {
    id: "ex4.2",
    title: "im2col convolution backward: col2im",
    file: "im2col.ts",
    fn: "col2im",
    points: 5,
  },
  {
    id: "ex5.1",
    title: "spatial batch norm forward",
    file: "layers/batchnorm.ts",
    fn: "spatialBatchnormForward",
    points: 10,
  },
  {
    id: "ex5.2",
    title: "spatial batch norm backward",
    file: "layers/batchnorm.ts",
    fn: "spatialBatchnormBackward",
    points: 10,
  },
  {
    id: "ex6",
    title: "ThreeLayerConvNet loss and gradients",
    file: "models/three_layer_convnet.ts",
    fn: "threeLayerConvNetLoss",
    points: 15,
  },
  {
    id: "ex7",
    title: "conv layer counts for the case studies: convLayerCounts",
    file: "models/counts.ts",
    fn: "convLayerCounts",
    points: 10,
  },
];

/** The exercise with this id; throws a RangeError listing the ids otherwise. */
export function exercise(id: string): Exercise {
  const e = EXERCISES.find((x) => x.id === id);
  if (!e) {
    throw new RangeError(
      `no exercise "${id}"; the exercises are ${EXERCISES.map((x) => x.id).join(", ")}`,
    );
  }
  return e;
}
