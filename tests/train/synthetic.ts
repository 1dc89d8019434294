/**
 * A learnable stand-in dataset for the trainer tests: 8x8 RGB images in 3 classes, each class brightening
 * one colour channel (values 0-127 of seeded noise, +120 in the class's channel).
 *
 * @module
 */
import { randLabels, Rng } from "convkit/random.ts";
import type { Split } from "convkit/train/trainer.ts";

/** `n` images `[8, 8, 3]` and their labels (0-2), from `seed`. */
export function synthetic(n: number, seed: number): Split {
  const rng = new Rng(seed);
  const labels = randLabels(n, 3, rng);
  const images = new Uint8Array(n * 8 * 8 * 3).map((_, i) => {
    const img = Math.floor(i / 192), ch = i % 3;
    return Math.min(255, Math.floor(rng.uniform() * 128) + (ch === labels[img] ? 120 : 0));
  });
  return { images, labels, n, shape: [8, 8, 3] };
}
