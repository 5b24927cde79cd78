/**
 * The pooled representations a classifier's last linear layer reads (the vector each example
 * becomes before it is scored), projected to 2-D with PCA (./pca.ts) so examples can be drawn
 * coloured by label and by whether the model got them right. "Visualizing and Understanding"
 * plots of this kind follow e.g. Rogers, Kovaleva & Rumshisky, "A Primer in BERTology" (2020, §4).
 *
 * Through the model's own forward, with no second implementation of any pooling: the last head
 * layer's weight (C, d) is swapped for [I_d; W] and its bias for [0; b], so one forward returns
 * (B, d + C): the representation it was fed, then the class logits.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostBatch } from '../batching';
import type { ClassifierSession } from '../classifier';
import type { PretrainedSession } from '../pretrained';
import type { Params } from '../models/spec';
import { pca } from './pca';
import { decide, labelIds } from '../eval/multilabel';
import { classifierModel, headProbs, type ClassifierModel } from './attribution';

/** The last linear layer of a classifier's head: the weight (C, d) and its bias when it has one. */
export function lastHeadLayer(params: Params, numClasses: number, candidates: string[]): { weight: string; bias?: string } {
	const weights = candidates.filter((n) => n.endsWith('.weight') && params[n]?.shape.length === 2 && params[n].shape[0] === numClasses);
	const weight = weights.at(-1);
	if (!weight) throw new Error("The classifier's head has no (classes, d) layer the studio recognises.");
	const bias = weight.replace(/\.weight$/, '.bias');
	return { weight, bias: params[bias] ? bias : undefined };
}

export interface PooledModel extends ClassifierModel {
	head: { weight: string; bias?: string };
	numClasses: number;
}

/** A session as the projection sees it: its forward and the head layer to open up. */
export function pooledModel(session: ClassifierSession | PretrainedSession): PooledModel {
	const model = classifierModel(session);
	if ('spec' in session) {
		const c = session.hf.numLabels;
		return { ...model, numClasses: c, head: lastHeadLayer(model.params, c, session.spec.headParams(session.hf)) };
	}
	const c = session.config.model.numClasses;
	return { ...model, numClasses: c, head: lastHeadLayer(model.params, c, ['classifier.weight']) };
}

/** Pooled vectors (real rows × d) and class probabilities (real rows × C) of one fixed-shape batch. */
export async function pooledBatch(model: PooledModel, hb: HostBatch): Promise<{ vectors: Float32Array; probs: Float32Array; d: number }> {
	const w = model.params[model.head.weight] as tf.Tensor2D;
	const d = w.shape[1];
	const c = model.numClasses;
	const out = tf.tidy(() => {
		const weight = tf.concat([tf.eye(d), w], 0); // (d + C, d)
		const b = model.head.bias ? (model.params[model.head.bias] as tf.Tensor1D) : tf.zeros([c]);
		const params: Params = { ...model.params, [model.head.weight]: weight };
		if (model.head.bias) params[model.head.bias] = tf.concat([tf.zeros([d]), b]);
		const inputIds = tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32');
		const attentionMask = tf.tensor2d(hb.mask, [hb.rows, hb.length], 'float32');
		let y = model.forward(params, { inputIds, attentionMask }) as tf.Tensor2D; // (B, d + C)
		if (!model.head.bias) y = y.add(tf.concat([tf.zeros([d]), b])); // a head without a bias adds nothing
		const pooled = y.slice([0, 0], [hb.real, d]);
		const probs = headProbs(model, y.slice([0, d], [hb.real, c]));
		return tf.concat([pooled.reshape([-1]), probs.reshape([-1])]);
	});
	const v = (await out.data()) as Float32Array;
	out.dispose();
	return { vectors: v.slice(0, hb.real * d), probs: v.slice(hb.real * d), d };
}

export interface Projection {
	/** (n, 2) row-major coordinates on the first two principal components. */
	points: number[];
	/** Share of the variance each of the two components explains. */
	explained: number[];
	/** The model's prediction for each example (argmax of its probabilities). */
	preds: number[];
	/** The representation's width (before projection). */
	dim: number;
	/** Multi-label models: each example's predicted label set (sigmoid probability ≥ the threshold). */
	sets?: number[][];
	/** The threshold the sets were decided at (the run's). */
	threshold?: number;
}

/**
 * Project pooled vectors (n × d) to 2-D and attach the predictions from (n × C) probabilities;
 * with `multiLabelThreshold` (sigmoid probabilities), each example's predicted set too.
 */
export function project(vectors: Float32Array, probs: Float32Array, n: number, d: number, c: number, multiLabelThreshold?: number): Projection {
	const r = pca(vectors, n, d, 2);
	const points = Array.from(r.projection);
	// With one component (d = 1) draw the second coordinate as 0.
	const two = r.k === 2 ? points : points.flatMap((x) => [x, 0]);
	const preds = Array.from({ length: n }, (_, i) => {
		let best = 0;
		for (let k = 1; k < c; k++) if (probs[i * c + k] > probs[i * c + best]) best = k;
		return best;
	});
	const out: Projection = { points: two, explained: [r.explained[0] ?? 0, r.explained[1] ?? 0], preds, dim: d };
	if (multiLabelThreshold !== undefined) {
		out.sets = Array.from({ length: n }, (_, i) => labelIds(decide(probs.subarray(i * c, (i + 1) * c), multiLabelThreshold)));
		out.threshold = multiLabelThreshold;
	}
	return out;
}
