/** A study's CSV export: a header and a row per trial, conditional parameters left empty, and typed choices that would be spreadsheet formulas kept as text. */
import { describe, expect, it } from 'vitest';
import { studyCsv } from '../../../src/routes/experiments/export';
import type { StudyRecord } from '../../../src/lib/experiments/record';
import { defaultRunConfig } from '../../../src/lib/shared/config';

const record = (trials: StudyRecord['trials']): StudyRecord => ({
	kind: 'study',
	id: 's',
	projectId: 'p',
	datasetVersionId: 'd',
	baseConfig: defaultRunConfig(2),
	metric: 'valLoss',
	maxSteps: 3,
	status: 'done',
	updatedAt: 0,
	createdAt: 0,
	elapsedSeconds: 0,
	trials,
	config: {
		name: 's',
		space: { 'pretrained.method.kind': { type: 'categorical', choices: ['full', 'lora', '=1+1'] }, 'pretrained.method.rank': { type: 'int', low: 2, high: 8, when: { param: 'pretrained.method.kind', in: ['lora'] } } },
		direction: 'minimize',
		sampler: { kind: 'random' },
		pruner: { kind: 'none' },
		budget: { trials: 3 },
		seed: 1
	}
});

describe('studyCsv', () => {
	it('one row per trial; an inactive conditional parameter is empty; a formula-like choice is text; negative numbers stay numbers', () => {
		const csv = studyCsv(
			record([
				{ number: 0, params: { 'pretrained.method.kind': 'lora', 'pretrained.method.rank': 4 }, state: 'complete', value: -0.5, intermediate: [], startedAt: 0, runId: 'r0' },
				{ number: 1, params: { 'pretrained.method.kind': 'full' }, state: 'pruned', value: 1.25, prunedAtStep: 2, intermediate: [], startedAt: 0, runId: 'r1' },
				{ number: 2, params: { 'pretrained.method.kind': '=1+1' }, state: 'failed', error: 'x', intermediate: [], startedAt: 0 }
			])
		);
		expect(csv.trim().split('\n')).toEqual([
			'number,state,value,pruned_at_step,run_id,pretrained.method.kind,pretrained.method.rank',
			'0,complete,-0.5,,r0,lora,4',
			'1,pruned,1.25,2,r1,full,',
			"2,failed,,,,'=1+1,"
		]);
	});
});
