/**
 * The lecture's case studies as specs: LeNet-5, AlexNet, ZFNet, VGG16, GoogLeNet, ResNet-18 to 152,
 * AlphaGo's policy network, and a small net in a pooled and an all-convolutional version.
 *
 * @module
 */
import type { Layer, ModelSpec } from "./spec.ts";

const conv = (
  name: string,
  filters: number,
  size: number,
  stride = 1,
  pad = 0,
  extra: Partial<Layer> = {},
): Layer => ({
  kind: "conv",
  name,
  filters,
  size,
  stride,
  pad,
  ...extra,
} as Layer);
const maxPool = (
  name: string,
  size: number,
  stride: number,
  extra: { pad?: number; ceil?: boolean } = {},
): Layer => ({
  kind: "pool",
  name,
  op: "max",
  size,
  stride,
  ...extra,
});
const fc = (name: string, units: number, relu = true): Layer => ({ kind: "fc", name, units, relu });

/** The ImageNet classifier of AlexNet, ZFNet and VGG: FC6 4096, dropout 0.5, FC7 4096, dropout 0.5, FC8 1000, softmax. */
function classifier(): Layer[] {
  return [
    fc("FC6", 4096),
    { kind: "dropout", name: "drop6", rate: 0.5 },
    fc("FC7", 4096),
    { kind: "dropout", name: "drop7", rate: 0.5 },
    fc("FC8", 1000, false),
    { kind: "softmax", name: "softmax" },
  ];
}

/**
 * LeNet-5 (LeCun et al. 1998) as reference implementations build it today: C1 6@28x28 (5x5, stride 1) on a
 * 32x32 input, S2 2x2 stride 2 average pooling without parameters, C3 16 filters connected to all 6 maps
 * (the paper connects each to a subset), S4, C5 120, F6 84, output 10. ReLU instead of tanh.
 *
 * @example
 * ```ts
 * import { lenet5 } from "convkit/models/zoo.ts";
 * import { summarize } from "convkit/models/summary.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(summarize(lenet5()).rows[1].output, [28, 28, 6]);
 * ```
 * @see ../../notebooks/09_lenet5.ipynb
 */
export function lenet5(): ModelSpec {
  const avg = (name: string): Layer => ({ kind: "pool", name, op: "avg", size: 2, stride: 2 });
  return {
    name: "LeNet-5",
    variant: "C3 fully connected to S2, parameter-free pooling, ReLU",
    input: [32, 32, 1],
    layers: [
      conv("C1", 6, 5),
      avg("S2"),
      conv("C3", 16, 5),
      avg("S4"),
      conv("C5", 120, 5),
      fc("F6", 84),
      fc("output", 10, false),
      { kind: "softmax", name: "softmax" },
    ],
  };
}

/**
 * AlexNet (Krizhevsky et al. 2012) on a 227x227x3 input (the paper's 224 is a known typo: (224 - 11) / 4 + 1
 * is not a whole number). `twoGpus: true` splits CONV2, CONV4 and CONV5 into two groups, as the two GPUs of
 * the paper (and Caffe's reference model) did; by default one stream.
 *
 * @see ../../notebooks/10_alexnet_zfnet.ipynb
 */
export function alexnet(opts: { twoGpus?: boolean } = {}): ModelSpec {
  const g = opts.twoGpus ? { groups: 2 } : {};
  return {
    name: "AlexNet",
    variant: opts.twoGpus
      ? "two GPUs (grouped CONV2, CONV4, CONV5), as Caffe's reference model"
      : "one stream",
    input: [227, 227, 3],
    layers: [
      conv("CONV1", 96, 11, 4, 0),
      maxPool("POOL1", 3, 2),
      { kind: "lrn", name: "NORM1" },
      conv("CONV2", 256, 5, 1, 2, g),
      maxPool("POOL2", 3, 2),
      { kind: "lrn", name: "NORM2" },
      conv("CONV3", 384, 3, 1, 1),
      conv("CONV4", 384, 3, 1, 1, g),
      conv("CONV5", 256, 3, 1, 1, g),
      maxPool("POOL3", 3, 2),
      ...classifier(),
    ],
  };
}

/**
 * ZFNet (Zeiler & Fergus 2013): AlexNet with CONV1 7x7 stride 2 instead of 11x11 stride 4, and CONV3, 4, 5 with
 * 512, 1024, 512 filters instead of 384, 384, 256 (the lecture's two changes), on the paper's 224x224 input with
 * its geometry (pad 1 in CONV1, stride 2 in CONV2, pools rounding up as Caffe's do: 110, 55, 26, 13, 6), one
 * stream.
 *
 * @see ../../notebooks/10_alexnet_zfnet.ipynb
 */
export function zfnet(): ModelSpec {
  return {
    name: "ZFNet",
    variant: "CONV3-5 at 512/1024/512 (the lecture's version), one stream",
    input: [224, 224, 3],
    layers: [
      conv("CONV1", 96, 7, 2, 1),
      maxPool("POOL1", 3, 2, { ceil: true }),
      { kind: "lrn", name: "NORM1" },
      conv("CONV2", 256, 5, 2, 0),
      maxPool("POOL2", 3, 2, { ceil: true }),
      { kind: "lrn", name: "NORM2" },
      conv("CONV3", 512, 3, 1, 1),
      conv("CONV4", 1024, 3, 1, 1),
      conv("CONV5", 512, 3, 1, 1),
      maxPool("POOL3", 3, 2, { ceil: true }),
      ...classifier(),
    ],
  };
}

/**
 * VGG16 (configuration D of Simonyan & Zisserman 2014): only 3x3 convs at stride 1 with pad 1, and 2x2 max
 * pools at stride 2.
 *
 * @see ../../notebooks/11_vgg16.ipynb
 */
export function vgg16(): ModelSpec {
  const layers: Layer[] = [];
  const stages: [number, number][] = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]];
  stages.forEach(([filters, n], s) => {
    for (let i = 1; i <= n; i++) layers.push(conv(`CONV${s + 1}-${i}`, filters, 3, 1, 1));
    layers.push(maxPool(`POOL${s + 1}`, 2, 2));
  });
  layers.push(...classifier());
  return { name: "VGG16", variant: "configuration D", input: [224, 224, 3], layers };
}

/**
 * GoogLeNet (Szegedy et al. 2014), without the auxiliary classifiers used only in training.
 * `variant: "paper"` (default) follows the paper's Table 1 and Caffe's reference model (biases, LRN, 5x5
 * branch); `"torchvision"` follows torchvision's `googlenet`: batch norm after every conv and no LRN, and 3x3
 * filters in the "5x5" branch, a bug torchvision keeps for its pretrained weights.
 *
 * @see ../../notebooks/12_googlenet.ipynb
 */
export function googlenet(opts: { variant?: "paper" | "torchvision" } = {}): ModelSpec {
  const tv = opts.variant === "torchvision";
  const b = tv ? { bn: true, bias: false } : {};
  const inc = (
    name: string,
    c1: number,
    c3r: number,
    c3: number,
    c5r: number,
    c5: number,
    pool: number,
  ): Layer => ({
    kind: "inception",
    name,
    c1,
    c3r,
    c3,
    c5r,
    c5,
    pool,
    ...(tv ? { bn: true, size5: 3 as const } : {}),
  });
  const pool = (name: string) => maxPool(name, 3, 2, { ceil: true });
  const layers: Layer[] = [
    conv("conv1 7x7/2", 64, 7, 2, 3, b),
    pool("pool1 3x3/2"),
    ...(tv ? [] : [{ kind: "lrn", name: "norm1" } as Layer]),
    conv("conv2 1x1", 64, 1, 1, 0, b),
    conv("conv2 3x3", 192, 3, 1, 1, b),
    ...(tv ? [] : [{ kind: "lrn", name: "norm2" } as Layer]),
    pool("pool2 3x3/2"),
    inc("inception 3a", 64, 96, 128, 16, 32, 32),
    inc("inception 3b", 128, 128, 192, 32, 96, 64),
    pool("pool3 3x3/2"),
    inc("inception 4a", 192, 96, 208, 16, 48, 64),
    inc("inception 4b", 160, 112, 224, 24, 64, 64),
    inc("inception 4c", 128, 128, 256, 24, 64, 64),
    inc("inception 4d", 112, 144, 288, 32, 64, 64),
    inc("inception 4e", 256, 160, 320, 32, 128, 128),
    pool("pool4 3x3/2"),
    inc("inception 5a", 256, 160, 320, 32, 128, 128),
    inc("inception 5b", 384, 192, 384, 48, 128, 128),
    { kind: "globalAvgPool", name: "avg pool 7x7" },
    { kind: "dropout", name: "dropout", rate: 0.4 },
    fc("linear", 1000, false),
    { kind: "softmax", name: "softmax" },
  ];
  return {
    name: "GoogLeNet",
    variant: tv
      ? "torchvision (batch norm, 3x3 in the 5x5 branch)"
      : "paper / Caffe reference, no auxiliary classifiers",
    input: [224, 224, 3],
    layers,
  };
}

/** The ResNet depths the paper defines. */
export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

/**
 * ResNet (He et al. 2015) as torchvision builds it: conv1 7x7/2 and a 3x3/2 max pool take 224 to 56, four
 * stages of basic (18, 34) or bottleneck (50, 101, 152) blocks, global average pooling and one FC layer.
 * Batch norm after every conv; no dropout.
 *
 * @see ../../notebooks/13_resnet.ipynb
 */
export function resnet(depth: ResNetDepth): ModelSpec {
  const plans: Record<ResNetDepth, [number[], "basic" | "bottleneck"]> = {
    18: [[2, 2, 2, 2], "basic"],
    34: [[3, 4, 6, 3], "basic"],
    50: [[3, 4, 6, 3], "bottleneck"],
    101: [[3, 4, 23, 3], "bottleneck"],
    152: [[3, 8, 36, 3], "bottleneck"],
  };
  const plan = plans[depth];
  if (!plan) throw new RangeError(`resnet: depth must be 18, 34, 50, 101 or 152, got ${depth}`);
  const [blocks, block] = plan;
  const layers: Layer[] = [
    conv("conv1 7x7/2", 64, 7, 2, 3, { bn: true, bias: false }),
    maxPool("pool 3x3/2", 3, 2, { pad: 1 }),
  ];
  blocks.forEach((n, stage) => {
    for (let i = 0; i < n; i++) {
      layers.push({
        kind: "residual",
        name: `conv${stage + 2}_${i + 1}`,
        block,
        filters: 64 * 2 ** stage,
        stride: i === 0 && stage > 0 ? 2 : 1,
      });
    }
  });
  layers.push(
    { kind: "globalAvgPool", name: "avg pool" },
    fc("fc 1000", 1000, false),
    { kind: "softmax", name: "softmax" },
  );
  return { name: `ResNet-${depth}`, variant: "torchvision", input: [224, 224, 3], layers };
}

/**
 * AlphaGo's policy network (Silver et al. 2016): a 19x19x48 board encoding, CONV1 192 5x5 filters with pad 2,
 * CONV2 to CONV12 192 3x3 filters with pad 1 (P = (F - 1) / 2 keeps 19x19 throughout), and a 1x1 conv to one
 * 19x19 map of move probabilities.
 *
 * @see ../../notebooks/14_alphago_and_trends.ipynb
 */
export function alphaGoPolicy(): ModelSpec {
  const layers: Layer[] = [conv("CONV1", 192, 5, 1, 2)];
  for (let i = 2; i <= 12; i++) layers.push(conv(`CONV${i}`, 192, 3, 1, 1));
  layers.push(conv("CONV13 1x1", 1, 1, 1, 0, { relu: false }), {
    kind: "softmax",
    name: "softmax",
  });
  return { name: "AlphaGo policy network", input: [19, 19, 48], layers };
}

/**
 * A small CIFAR-sized net, in the classic form (CONV-POOL stages and an FC layer) or all-convolutional
 * (Springenberg et al. 2014): each pool replaced by a 3x3 conv of stride 2, the FC layer by a 1x1 conv and
 * global average pooling.
 *
 * @see ../../notebooks/14_alphago_and_trends.ipynb
 */
export function smallNet(opts: { allConv?: boolean } = {}): ModelSpec {
  const layers: Layer[] = [];
  [32, 64, 128].forEach((f, i) => {
    layers.push(conv(`conv${i + 1}`, f, 3, 1, 1));
    layers.push(
      opts.allConv ? conv(`conv${i + 1} 3x3/2`, f, 3, 2, 1) : maxPool(`pool${i + 1}`, 2, 2),
    );
  });
  if (opts.allConv) {
    layers.push(conv("conv 1x1 to 10", 10, 1, 1, 0, { relu: false }), {
      kind: "globalAvgPool",
      name: "avg pool",
    });
  } else {
    layers.push(fc("fc 10", 10, false));
  }
  layers.push({ kind: "softmax", name: "softmax" });
  return { name: opts.allConv ? "all-conv net" : "conv-pool net", input: [32, 32, 3], layers };
}

/**
 * The ConvNetJS CIFAR-10 demo network that the lecture points to: conv 5x5 16 filters, pool, conv 5x5 20, pool,
 * conv 5x5 20, pool (all convs padded to keep their size, with ReLU), FC 10, softmax.
 *
 * @example
 * ```ts
 * import { convnetjsCifar10 } from "convkit/models/zoo.ts";
 * import { summarize } from "convkit/models/summary.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(summarize(convnetjsCifar10()).rows.at(-2)!.output, [1, 1, 10]);
 * ```
 * @see ../../notebooks/17_cifar10_demo.ipynb
 */
export function convnetjsCifar10(): ModelSpec {
  const c = (name: string, filters: number): Layer => ({
    kind: "conv",
    name,
    filters,
    size: 5,
    pad: "same",
  });
  return {
    name: "ConvNetJS CIFAR-10 net",
    input: [32, 32, 3],
    layers: [
      c("conv1", 16),
      maxPool("pool1", 2, 2),
      c("conv2", 20),
      maxPool("pool2", 2, 2),
      c("conv3", 20),
      maxPool("pool3", 2, 2),
      fc("fc 10", 10, false),
      { kind: "softmax", name: "softmax" },
    ],
  };
}
