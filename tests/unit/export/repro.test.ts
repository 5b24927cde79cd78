/**
 * Reproducibility JSON round trip: what Evaluate exports (recipe.ts `reproducibility`) opens in
 * another browser as the Train form's config (run config, seed, base model and revision) on the
 * dataset version with the same content hash; a browser without that data gets a message naming
 * it and saying how to bring it; files that are not a record say so.
 */
import { describe, expect, it } from 'vitest';
import { reproducibility } from '../../../src/lib/export/recipe';
import { importReproducibility, parseReproducibility } from '../../../src/lib/export/repro';
import type { DatasetVersion } from '../../../src/lib/shared/types';
import { fakeRun, loraClassifierConfig, version } from './fixtures';

const json = (v: unknown) => JSON.stringify(v, null, 2);

describe('reproducibility import', () => {
	const config = loraClassifierConfig('qwen2');
	config.pretrained!.init = { runId: 'r0', checkpointId: 'c0', step: 4 };
	const run = fakeRun(config);
	const text = json(reproducibility(run, version));

	it('recreates the run config, seed, base model and revision on the version with the same content hash (another id here)', () => {
		const here = { ...version, id: 'v-local', projectId: 'p9' } as DatasetVersion;
		const other = { ...version, id: 'v-other', contentHash: 'ffff' } as DatasetVersion;
		const out = importReproducibility(parseReproducibility(text), [other, here]);
		expect(out.version.id).toBe('v-local');
		expect(out.config.train).toEqual(config.train);
		expect(out.config.train.seed).toBe(7);
		expect(out.config.model).toEqual(config.model);
		const { init, ...p } = config.pretrained!;
		expect(init).toBeDefined();
		expect(out.config.pretrained).toEqual(p);
		expect(out.config.pretrained).toMatchObject({ repo: 'whetstone-test/tiny-qwen2', revision: 'f'.repeat(40), method: { kind: 'lora', rank: 4 } });
		expect(out.notes.join(' ')).toContain('started from a checkpoint of another run (r0, step 4)');
	});

	it('prefers the same version id when several versions share the hash', () => {
		const a = { ...version, id: 'a' } as DatasetVersion;
		expect(importReproducibility(parseReproducibility(text), [a, version]).version.id).toBe('v1');
	});

	it('says which dataset is missing and how to bring it', () => {
		expect(() => importReproducibility(parseReproducibility(text), [])).toThrow(
			"The dataset this run was trained on ('tickets v1', 12 rows, content hash abc123…) is not in this browser. Import tickets.csv on the Data screen with the same columns and split; a version with the same content hash is found by its hash. Then open this record again."
		);
	});

	it('fills fields a newer studio added with their defaults and keeps a from-scratch run without a base model', () => {
		const scratch = fakeRun(loraClassifierConfig('llama'));
		delete scratch.config.pretrained;
		const rec = reproducibility(scratch, version) as Record<string, any>;
		delete rec.config.train.labelSmoothing;
		const out = importReproducibility(parseReproducibility(json(rec)), [version]);
		expect(out.config.pretrained).toBeUndefined();
		expect(out.config.train.labelSmoothing).toBe(0);
		expect(out.notes).toEqual([]);
	});

	it('refuses what is not a record, with what to do', () => {
		expect(() => parseReproducibility('not json')).toThrow(/not JSON. Choose the reproducibility JSON/);
		expect(() => parseReproducibility('{"format": "other"}')).toThrow(/not a Whetstone reproducibility record/);
		expect(() => parseReproducibility(json({ ...JSON.parse(text), formatVersion: 2 }))).toThrow(/format version 2; this studio reads version 1/);
		expect(() => parseReproducibility(json({ ...JSON.parse(text), config: null }))).toThrow(/no run config/);
		expect(() => parseReproducibility(json({ ...JSON.parse(text), dataset: {} }))).toThrow(/no dataset content hash/);
	});
});
