/**
 * Training internals recorded with a run's metrics (engine/train/step.ts computes them): per layer
 * group, the gradient norm and the update-to-weight ratio ‖Δw‖/‖w‖ of one optimizer step, the
 * signals used to spot a dead layer (flat at zero) or an exploding one (Karpathy, "A Recipe for
 * Training Neural Networks", 2019: update/weight ratios around 1e-3). Shared by the engine, which
 * writes them, and the Train screen, which draws them.
 */
import type { MetricPoint } from './types';

export interface LayerStat {
	/** 'embeddings', 'layer 0' … 'layer N-1', or 'head' (final norm, pooler, classifier). */
	group: string;
	/** ‖g‖ over the group's parameters, before clipping. */
	gradNorm: number;
	/** ‖w_after − w_before‖ / ‖w_before‖ over the group's parameters. */
	updateRatio: number;
}

/** A metric point with the internals of its step (only train log points carry them). */
export type PointWithLayers = MetricPoint & { layers?: LayerStat[] };

/** The layer group a parameter belongs to, from its Hugging Face name. */
export function layerGroup(name: string): string {
	const m = /\.(?:h|layer|layers)\.(\d+)\./.exec(name);
	if (m) return `layer ${m[1]}`;
	if (/embed|\.wte\.|\.wpe\./.test(name)) return 'embeddings';
	return 'head';
}

/** Groups in the order a forward pass meets them: embeddings, layers by number, head. */
export function groupOrder(a: string, b: string): number {
	const rank = (g: string) => (g === 'embeddings' ? -1 : g === 'head' ? 1e9 : Number(g.slice(6)));
	return rank(a) - rank(b);
}
