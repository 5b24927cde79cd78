import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (...args: string[]) =>
	execFileSync(process.execPath, ['--import', 'tsx', 'bench/hpo.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('bench:hpo', () => {
	it('--json prints one object per sampler with the median best after each trial count', () => {
		const out = run('--objective', 'bench/objectives/shifted-quadratic.mjs', '--trials', '12', '--seeds', '2', '--json');
		const lines = out.trim().split('\n').map((l) => JSON.parse(l));
		expect(lines.map((l) => l.sampler)).toEqual(['tpe', 'random', 'grid']);
		for (const l of lines) {
			expect(l).toMatchObject({ trials: 12, seeds: 2 });
			expect(Object.keys(l.bestMedian)).toEqual(['10', '12']);
			// Best-so-far never gets worse with more trials.
			expect(l.bestMedian['12']).toBeLessThanOrEqual(l.bestMedian['10']);
			expect(l.bestQ1['12']).toBeLessThanOrEqual(l.bestMedian['12']);
		}
	});

	it('a module without `evaluate` gets a message saying what to export', () => {
		const dir = mkdtempSync(join(tmpdir(), 'hpo-'));
		const path = join(dir, 'no-evaluate.mjs');
		writeFileSync(path, "export const space = { x: { type: 'float', low: 0, high: 1 } };\n");
		let message = '';
		try {
			run('--objective', path, '--sampler', 'tpe');
		} catch (e) {
			message = String((e as { stderr?: string }).stderr);
		}
		expect(message).toContain('must export `space` and `evaluate(params)`');
		let bad = '';
		try {
			run('--objective', 'bench/objectives/branin.mjs', '--sampler', 'bayes');
		} catch (e) {
			bad = String((e as { stderr?: string }).stderr);
		}
		expect(bad).toMatch(/Unknown sampler "bayes": use tpe, random or grid/);
	});
});
