/**
 * Loads the PyTorch reference values written by `make_fixtures.py` (tests/fixtures/layers.json).
 *
 * @module
 */
import { type Tensor, tensor } from "convkit/tensor.ts";

/** A tensor as the fixture file stores it. */
export interface FixtureTensor {
  shape: number[];
  data: number[];
}

// deno-lint-ignore no-explicit-any
export type Fixture = Record<string, any>;

const path = new URL("./fixtures/layers.json", import.meta.url);
/** Every fixture, by layer. */
export const fixtures: Record<string, Fixture[]> = JSON.parse(Deno.readTextFileSync(path));

/** A fixture tensor as a kit tensor (a fresh copy each call). */
export function T(f: FixtureTensor): Tensor {
  return tensor(f.data, f.shape);
}
