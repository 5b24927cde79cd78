/**
 * The embeddings view of a multi-label run: with a threshold, each projected example carries its
 * predicted label set (sigmoid probability at or above it); without one, no sets (a softmax run).
 */
import { describe, expect, it } from 'vitest';
import { project } from '../../../src/lib/engine/inside/embeddings';

describe('embeddings of a multi-label run', () => {
	const vectors = Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1]); // 4 examples, d = 2
	const probs = Float32Array.from([0.9, 0.2, 0.5, 0.4, 0.49, 0.1, 0.7, 0.6, 0.2, 0.3, 0.1, 0.05]); // 4 × 3 sigmoid
	it('predicted sets at the threshold, beside the argmax predictions', () => {
		const p = project(vectors, probs, 4, 2, 3, 0.5);
		expect(p.sets).toEqual([[0, 2], [], [0, 1], []]);
		expect(p.preds).toEqual([0, 1, 0, 0]);
		expect(p.points).toHaveLength(8);
	});
	it('no sets for a softmax run', () => {
		expect(project(vectors, probs, 4, 2, 3).sets).toBeUndefined();
	});
});
