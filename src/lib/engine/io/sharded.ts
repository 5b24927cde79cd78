/**
 * Sharded checkpoints: `model.safetensors.index.json` maps each tensor name to the shard file
 * that holds it (`{ metadata, weight_map: { name: file } }`, as transformers'
 * `save_pretrained(max_shard_size=...)` writes it). Shards are fetched one at a time so peak memory
 * is one shard plus the tensors kept so far.
 */
import { parseSafetensors, SafetensorsError, type SafetensorsTensor } from './safetensors';

export interface ShardIndex {
	metadata?: Record<string, unknown>;
	weight_map: Record<string, string>;
}

export async function loadSharded(
	index: ShardIndex,
	fetchShard: (file: string) => Promise<ArrayBuffer>
): Promise<{ metadata: Record<string, string>; tensors: Map<string, SafetensorsTensor> }> {
	if (!index || typeof index.weight_map !== 'object' || index.weight_map === null)
		throw new SafetensorsError('Shard index has no weight_map; expected the contents of model.safetensors.index.json.');
	const files = [...new Set(Object.values(index.weight_map))];
	const tensors = new Map<string, SafetensorsTensor>();
	const metadata: Record<string, string> = {};
	for (const file of files) {
		const shard = parseSafetensors(await fetchShard(file));
		Object.assign(metadata, shard.metadata);
		for (const [name, t] of shard.tensors) {
			// A shard may carry tensors the index does not list; the index decides which file owns a name.
			if (index.weight_map[name] !== file) continue;
			tensors.set(name, t);
		}
	}
	const missing = Object.keys(index.weight_map).filter((name) => !tensors.has(name));
	if (missing.length)
		throw new SafetensorsError(
			`The shard index lists ${missing.length} tensor(s) its shards do not contain, e.g. '${missing[0]}' in ${index.weight_map[missing[0]]}.`
		);
	return { metadata, tensors };
}
