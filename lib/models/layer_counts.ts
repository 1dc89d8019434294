/**
 * What a layer holds and computes: the record every summary adds up. In a module of its own, so that
 * `summarize` needs no file that holds an exercise (`counts.ts` holds ex7).
 *
 * @module
 */
import type { Volume } from "./spec.ts";

/** What a layer holds and computes. */
export interface LayerCounts {
  weights: number;
  biases: number;
  /** Trainable batch-norm parameters (gamma, beta). */
  bnParams: number;
  /** Batch-norm running mean and variance: stored with the model, not trained. */
  bnStats: number;
  /** Values of the tensors this layer creates. */
  activations: number;
  multAdds: number;
}

/** A layer's counts and its output volume. */
export interface Unit extends LayerCounts {
  out: Volume;
}

/** All counts zero. */
export const EMPTY = {
  weights: 0,
  biases: 0,
  bnParams: 0,
  bnStats: 0,
  activations: 0,
  multAdds: 0,
};

/** Counts of two parts together. */
export function addCounts(a: LayerCounts, b: LayerCounts): LayerCounts {
  return {
    weights: a.weights + b.weights,
    biases: a.biases + b.biases,
    bnParams: a.bnParams + b.bnParams,
    bnStats: a.bnStats + b.bnStats,
    activations: a.activations + b.activations,
    multAdds: a.multAdds + b.multAdds,
  };
}
