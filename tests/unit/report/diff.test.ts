// Config diff for the Compare screen: only the fields that differ, missing ones included.
import { describe, expect, it } from 'vitest';
import { configDiff, flatten } from '../../../src/lib/report/diff';
import { defaultRunConfig } from '../../../src/lib/shared/config';

describe('configDiff', () => {
	it('flattens nested configs to dotted paths', () => {
		expect(flatten({ a: 1, b: { c: 'x', d: [1, 2] }, e: undefined })).toEqual({ a: '1', 'b.c': 'x', 'b.d': '[1,2]' });
	});

	it('keeps only the fields that differ', () => {
		const a = defaultRunConfig(5);
		const b = defaultRunConfig(5);
		b.train.learningRate = 1e-3;
		b.model.nLayer = 2;
		const c = { ...defaultRunConfig(5), pretrained: { repo: 'x/y' } };
		expect(configDiff([a, b])).toEqual([
			{ path: 'model.nLayer', values: ['1', '2'] },
			{ path: 'train.learningRate', values: ['0.003', '0.001'] }
		]);
		expect(configDiff([a, c])).toEqual([{ path: 'pretrained.repo', values: [undefined, 'x/y'] }]);
		expect(configDiff([a, defaultRunConfig(5)])).toEqual([]);
	});
});
