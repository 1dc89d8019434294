/**
 * The per-epoch history both trainers keep (`trainTfjs` in trainer.ts, `trainTeaching` in
 * teaching_trainer.ts). Free of tfjs, so that the teaching trainer does not load it.
 *
 * @module
 */

/** One epoch of the history. */
export interface HistoryEntry {
  epoch: number;
  loss: number;
  trainAcc: number;
  valAcc?: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** One epoch's history entry, from the summed loss over `seen` images and the epoch's wall time. */
export function historyEntry(
  epoch: number,
  lossSum: number,
  seen: number,
  trainAcc: number,
  valAcc: number | undefined,
  lr: number,
  seconds: number,
): HistoryEntry {
  return {
    epoch,
    loss: lossSum / seen,
    trainAcc,
    ...(valAcc !== undefined ? { valAcc } : {}),
    lr,
    seconds,
    imagesPerSecond: seen / seconds,
  };
}
