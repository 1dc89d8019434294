/**
 * The assignment's exercises: where each lives, what it is worth, and how long its tests may run.
 * Solutions are marked in `lib/` with `// BEGIN SOLUTION <id> <what to implement>` ... `// END SOLUTION`.
 *
 * Exercises build on each other as in CS231n: the conv and pooling layers call your `convOutputSize`
 * (ex1) through their shape checks, max-pool backward needs your forward pass, and the ThreeLayerConvNet
 * (ex6) is made of your layers.
 *
 * @module
 */

/** One exercise. */
export interface Exercise {
  id: string;
  title: string;
  /** File in `lib/` that holds the solution. */
  file: string;
  points: number;
  /** How long all of its tests may run, in milliseconds (default 30 s). */
  timeLimitMs?: number;
}

/** The exercises, in course order; 100 points in all. */
export const EXERCISES: readonly Exercise[] = [
  { id: "ex1", title: "output-size arithmetic: convOutputSize", file: "shape.ts", points: 5 },
  {
    id: "ex2.1",
    title: "conv layer forward, naive: conv2dForward",
    file: "layers/conv2d.ts",
    points: 10,
  },
  {
    id: "ex2.2",
    title: "conv layer backward, naive: conv2dBackward",
    file: "layers/conv2d.ts",
    points: 15,
  },
  {
    id: "ex3.1",
    title: "max pooling forward: maxPool2dForward",
    file: "layers/pool2d.ts",
    points: 5,
  },
  {
    id: "ex3.2",
    title: "max pooling backward: maxPool2dBackward",
    file: "layers/pool2d.ts",
    points: 10,
  },
  { id: "ex4.1", title: "im2col convolution: im2col", file: "im2col.ts", points: 5 },
  { id: "ex4.2", title: "im2col convolution backward: col2im", file: "im2col.ts", points: 5 },
  { id: "ex5.1", title: "spatial batch norm forward", file: "layers/batchnorm.ts", points: 10 },
  { id: "ex5.2", title: "spatial batch norm backward", file: "layers/batchnorm.ts", points: 10 },
  {
    id: "ex6",
    title: "ThreeLayerConvNet loss and gradients",
    file: "models/three_layer_convnet.ts",
    points: 15,
  },
  {
    id: "ex7",
    title: "conv layer counts for the case studies: convLayerCounts",
    file: "models/counts.ts",
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
