/**
 * Will this model fit the GPU's buffers? WebGPU binds each tensor to a shader as one storage
 * buffer, and a binding may not exceed the adapter's `maxStorageBufferBindingSize` (128 MiB on some
 * adapters; the WebGPU spec's default). tfjs-webgpu keeps a tensor in one buffer, so one tensor
 * over the limit fails when a kernel first binds it, deep inside a step. GPT-2's 50257 x 768
 * float32 embedding is 147 MiB; a batch's (B, T, V) logits of a large vocabulary pass the limit
 * long before the weights do. This check runs before loading, names what does not fit and says
 * what to do.
 */
import { UserError } from '../../shared/errors';
import type { ArchSpec, HfConfigBase } from './spec';

export interface BufferItem {
	name: string;
	kind: 'parameter' | 'activation';
	shape: number[];
	/** float32 bytes. */
	bytes: number;
}

export interface BufferLimitReport {
	limitBytes: number;
	/** Every tensor over the limit, largest first. */
	over: BufferItem[];
	/** The largest activation that was checked (over the limit or not), for display. */
	largestActivation?: BufferItem;
	/** What does not fit and what to do; null when everything fits. */
	message: string | null;
}

/** Tensors as parameters (anything with a shape) or as a name -> shape record. */
export type ShapeSource = Record<string, { shape: readonly number[] } | readonly number[]>;

const count = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/**
 * Check each tensor, and each named activation shape, against `limitBytes` (the adapter's
 * `maxStorageBufferBindingSize`). Everything is float32, as tfjs-webgpu stores it.
 */
export function checkBufferLimits(tensors: ShapeSource, limitBytes: number, activations: Record<string, readonly number[]> = {}, readInParts: (name: string) => boolean = () => false): BufferLimitReport {
	const items: BufferItem[] = [];
	for (const [name, t] of Object.entries(tensors)) {
		if (readInParts(name)) continue;
		const shape = Array.isArray(t) ? (t as number[]) : [...(t as { shape: readonly number[] }).shape];
		items.push({ name, kind: 'parameter', shape: [...shape], bytes: 4 * count(shape) });
	}
	const acts: BufferItem[] = Object.entries(activations).map(([name, shape]) => ({ name, kind: 'activation', shape: [...shape], bytes: 4 * count(shape) }));
	const largestActivation = acts.reduce<BufferItem | undefined>((best, a) => (!best || a.bytes > best.bytes ? a : best), undefined);
	const over = [...items, ...acts].filter((i) => i.bytes > limitBytes).sort((a, b) => b.bytes - a.bytes);
	return { limitBytes, over, largestActivation, message: over.length ? limitMessage(over, limitBytes) : null };
}

/**
 * The largest activations of one training step at this batch size and sequence length: the
 * (B, T, V) logits of a causal LM (its softmax, gradient and one-hot targets are the same size),
 * the (B, heads, T, T) attention weights and the (B, T, intermediate) MLP activations.
 */
export function activationShapes(config: HfConfigBase, batchSize: number, seqLength: number): Record<string, number[]> {
	const [b, t] = [batchSize, seqLength];
	const out: Record<string, number[]> = {
		'attention weights (batch, heads, context, context)': [b, config.nHead, t, t],
		'MLP activations (batch, context, intermediate)': [b, t, config.intermediateSize]
	};
	if (config.task === 'causal-lm') out['logits (batch, context, vocabulary)'] = [b, t, config.vocabSize];
	return out;
}

/**
 * The tables the fast path reads in parts when they are too large to bind (ops/split.ts): token
 * embeddings and LM heads, as an embedding lookup or an (out, in) linear weight.
 */
const VOCABULARY_TABLE = /(^|\.)(wte|embed_tokens|embed_in|embed_out|word_embeddings|lm_head)\.weight$/;

/**
 * `checkBufferLimits` for a model's parameters and one step's activations. With `trained` (the
 * names that train), an embedding or LM head that does not train is not over the limit on the
 * fast path, which reads it in parts; one that trains still is.
 */
export function checkModelBufferLimits<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	step: { batchSize: number; seqLength: number },
	limitBytes: number,
	trained?: ReadonlySet<string>,
	fastPath = true
): BufferLimitReport {
	const inParts = (name: string) => Boolean(trained && fastPath && !trained.has(name) && VOCABULARY_TABLE.test(name));
	return checkBufferLimits(spec.paramShapes(config), limitBytes, activationShapes(config, step.batchSize, step.seqLength), inParts);
}

/** Throws a 'model-too-large' UserError with the report's message when something does not fit. */
export function assertWithinBufferLimits(report: BufferLimitReport): void {
	if (report.message) throw new UserError('model-too-large', report.message);
}

function size(bytes: number): string {
	const mib = bytes / 2 ** 20;
	return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(1)} MiB`;
}

function limitMessage(over: BufferItem[], limit: number): string {
	const lines = over.slice(0, 6).map((i) => `  - ${i.kind} '${i.name}' [${i.shape.join(' x ')}]: ${size(i.bytes)}`);
	if (over.length > 6) lines.push(`  - and ${over.length - 6} more`);
	const todo: string[] = [];
	if (over.some((i) => i.kind === 'parameter'))
		todo.push(
			'train with LoRA (an embedding or LM head that does not train is read in parts on WebGPU, so only the adapters need to fit), or pick a model with a smaller vocabulary or hidden size (the embedding and LM head are vocabulary x hidden size)'
		);
	if (over.some((i) => i.kind === 'activation')) todo.push('lower the batch size or the context length');
	todo.push('or run on a GPU and browser whose WebGPU adapter allows larger storage buffers');
	return (
		`${over.length} tensor(s) are larger than the ${size(limit)} this GPU lets one shader read or write at once (WebGPU maxStorageBufferBindingSize), so training would fail:\n` +
		lines.join('\n') +
		`\nTo fix it: ${todo.join('; ')}.`
	);
}
