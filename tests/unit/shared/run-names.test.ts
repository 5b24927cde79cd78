import { describe, expect, it } from 'vitest';
import { nextRunName, trainingRuns } from '../../../src/lib/shared/run-names';

const baseline = { kind: 'zero-shot' };

describe('run names', () => {
	it('count training runs only: a prompt baseline takes no number', () => {
		const runs = [{ name: 'zero-shot · tiny-gpt2', baseline }, { name: 'run 1' }];
		expect(trainingRuns(runs)).toEqual([{ name: 'run 1' }]);
		expect(nextRunName(runs)).toBe('run 2');
		expect(nextRunName([])).toBe('run 1');
		expect(nextRunName([{ name: 'zero-shot', baseline }])).toBe('run 1');
	});

	it('never give a name still in use', () => {
		// run 1 was deleted; run 2 is still there: the next is run 3, not a second run 2.
		expect(nextRunName([{ name: 'run 2' }])).toBe('run 3');
		expect(nextRunName([{ name: 'run 1' }, { name: 'run 2' }, { name: 'run 2 · from step 4' }])).toBe('run 4');
		expect(nextRunName([{ name: 'tiny-qwen2 instruction 1' }], 'tiny-qwen2 instruction')).toBe('tiny-qwen2 instruction 2');
	});
});
