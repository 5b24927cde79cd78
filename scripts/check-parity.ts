/**
 * Compare Whetstone's implementation of a Hugging Face model with reference numbers from
 * transformers: `npx tsx scripts/check-parity.ts <folder>`, where the folder is laid out like
 * tests/fixtures/hf-tiny/<arch>/ (config.json, model.safetensors or a sharded index,
 * reference.json, optional model.f16.safetensors / model.bf16.safetensors). Runs on the tfjs CPU
 * backend, prints one line per check and `N passed, M failed`, and exits 1 on any failure.
 */
/// <reference types="node" />
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadSharded, parseSafetensors, type SafetensorsTensor } from '../src/lib/engine/io';
import { formatCheck, runParity, summarize } from '../src/lib/engine/models/parity';

function arrayBuffer(path: string): ArrayBuffer {
	const b = readFileSync(path);
	return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

function optional(path: string): Map<string, SafetensorsTensor> | undefined {
	return existsSync(path) ? parseSafetensors(arrayBuffer(path)).tensors : undefined;
}

async function weights(folder: string): Promise<Map<string, SafetensorsTensor>> {
	const single = join(folder, 'model.safetensors');
	if (existsSync(single)) return parseSafetensors(arrayBuffer(single)).tensors;
	const index = join(folder, 'model.safetensors.index.json');
	if (existsSync(index)) return (await loadSharded(json(index), async (file) => arrayBuffer(join(folder, file)))).tensors;
	throw new Error(`${folder} has neither model.safetensors nor model.safetensors.index.json.`);
}

async function main(): Promise<number> {
	const folder = process.argv[2];
	if (!folder) {
		console.error('usage: npx tsx scripts/check-parity.ts <folder with config.json, model.safetensors, reference.json>');
		return 2;
	}
	await tf.setBackend('cpu');
	const checks = await runParity({
		config: json(join(folder, 'config.json')),
		tensors: await weights(folder),
		reference: json(join(folder, 'reference.json')),
		f16: optional(join(folder, 'model.f16.safetensors')),
		bf16: optional(join(folder, 'model.bf16.safetensors'))
	});
	for (const c of checks) console.log(formatCheck(c));
	console.log(summarize(checks));
	return checks.every((c) => c.pass) ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(e) => {
		console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
		process.exit(1);
	}
);
