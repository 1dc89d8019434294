/**
 * The teaching layers, each a forward/backward pair.
 *
 * @module
 */
export * from "./conv2d.ts";
export * from "./conv2d_im2col.ts";
export * from "./pool2d.ts";
export * from "./affine.ts";
export * from "./relu.ts";
export * from "./softmax.ts";
export * from "./batchnorm.ts";
export * from "./dropout.ts";
export * from "./residual.ts";
export { checkCache, type LayerCache } from "./checks.ts";
