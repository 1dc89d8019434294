/**
 * convkit: the teaching layers of CS231n Lecture 7 (convolutional neural networks) in TypeScript.
 *
 * Every layer is a forward/backward pair: `xForward(...) -> { out, cache }`, `xBackward(dout, cache)`.
 * Activations are NHWC `[N, H, W, C]`, conv filters `[F, F, C_in, K]`, biases `[K]`, data `Float64Array`.
 *
 * @module
 */
export * from "./tensor.ts";
export * from "./shape.ts";
export * from "./random.ts";
export * from "./init.ts";
export * from "./compare.ts";
export * from "./gradcheck.ts";
export * from "./matmul.ts";
export * from "./im2col.ts";
export * from "./layers/mod.ts";
