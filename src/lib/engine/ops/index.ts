/**
 * The operations every model uses, each behind one function, so a fused WGSL kernel can replace
 * one later without touching any model (DESIGN.md, Engine).
 */
export { linear, linearSideBySide, type WeightLayout } from './linear';
export { layerNorm, rmsNorm } from './norm';
export { geluTanh, geluErf, silu, siluGate, siluGatePacked, activation, activations } from './activations';
export { attention, attendHeads, attendPacked, attentionBias, repeatKv, splitHeads, mergeHeads, type AttentionOptions } from './attention';
export { embedding, ONE_HOT_LIMIT } from './embedding';
export { addMany } from './sum';
export { meanPool } from './pool';
export { crossEntropy, labelLogProbs, sigmoidCrossEntropy, type CrossEntropyOptions } from './loss';
export { applyRope, applyRopeHeads, ropeCosSin, ropeInvFreq, ropeTable, rotateHalf } from './rope';

import { installCpuBroadcast } from './cpu-broadcast';
// The CPU backend's broadcasting ops without per-element index arithmetic, same values (cpu-broadcast.ts);
// every model imports this module, so it is in place before any of them runs.
installCpuBroadcast();
