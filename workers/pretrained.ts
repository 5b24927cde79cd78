/**
 * The engine worker's access to downloaded Hugging Face models: weights and tokenizer files read
 * from the browser's model cache (the data worker downloaded them), never from the network, so a
 * run trains and evaluates offline once its model is cached.
 */
import { parseSafetensors, loadSharded, type SafetensorsTensor, type ShardIndex } from '../src/lib/engine/io';
import { UserError } from '../src/lib/shared/errors';
import type { ModelRef } from '../src/lib/shared/hub';
import { getModelFile } from '../src/lib/storage';

const text = (b: ArrayBuffer) => new TextDecoder().decode(b);

async function need(ref: ModelRef, file: string): Promise<ArrayBuffer> {
	const bytes = await getModelFile(ref, file);
	if (!bytes)
		throw new UserError(
			'not-found',
			`${ref.repo} (revision ${ref.revision.slice(0, 8)}) is not in this browser's model cache (missing ${file}). Download it again on the Train screen.`
		);
	return bytes;
}

/** config.json and every weight tensor of a cached model (one file, or the shards of an index). */
export async function loadHubModel(ref: ModelRef): Promise<{ config: Record<string, unknown>; tensors: Map<string, SafetensorsTensor> }> {
	const config = JSON.parse(text(await need(ref, 'config.json')));
	const single = await getModelFile(ref, 'model.safetensors');
	if (single) return { config, tensors: parseSafetensors(single).tensors };
	const index = JSON.parse(text(await need(ref, 'model.safetensors.index.json'))) as ShardIndex;
	const { tensors } = await loadSharded(index, (file) => need(ref, file));
	return { config, tensors };
}

/**
 * tokenizer_config.json of a cached model ({} when the model has none), with the chat template
 * of a separate chat_template.jinja (where newer repos keep it) when the config has none.
 */
export async function hubTokenizerConfig(ref: ModelRef): Promise<Record<string, unknown>> {
	const bytes = await getModelFile(ref, 'tokenizer_config.json');
	const config = bytes ? JSON.parse(text(bytes)) : {};
	if (config.chat_template === undefined) {
		const jinja = await getModelFile(ref, 'chat_template.jinja');
		if (jinja) config.chat_template = text(jinja);
	}
	return config;
}

/** A cached model's files for the data pipeline, tokenizer_config.json with its chat template merged in. */
export function hubFileReader(ref: ModelRef): (file: string) => Promise<ArrayBuffer | undefined> {
	return async (file) =>
		file === 'tokenizer_config.json' ? new TextEncoder().encode(JSON.stringify(await hubTokenizerConfig(ref))).buffer as ArrayBuffer : getModelFile(ref, file);
}
