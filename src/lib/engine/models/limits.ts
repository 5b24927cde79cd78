/**
 * Will this model fit the GPU's buffers? WebGPU binds each tensor to a shader as one storage
 * buffer, and a binding may not exceed the adapter's `maxStorageBufferBindingSize` (128 MiB on some
 * adapters; the WebGPU spec's default). tfjs-webgpu keeps a tensor in one buffer, so one tensor
 * over the limit fails when a kernel first binds it, deep inside a step. GPT-2's 50257 x 768
 * float32 embedding is 147 MiB; a batch's (B, T, V) logits of a large vocabulary pass the limit
 * long before the weights do. On the fast path an embedding or LM head over the limit is read,
 * differentiated and trained in parts of whole rows (ops/split.ts), so it is over only when it
 * cannot be cut that way: one row over the limit, or the table over the largest buffer the device
 * allocates (`maxBufferSize`, the parts being cut from one buffer). This check runs before
 * loading, names what does not fit and says what to do.
 */
import { UserError } from '../../shared/errors';
import type { ArchSpec, HfConfigBase } from './spec';

export interface BufferItem {
	name: string;
	kind: 'parameter' | 'activation';
	shape: number[];
	/** float32 bytes. */
	bytes: number;
	/** Why a table the fast path reads in parts cannot be read that way. */
	why?: 'row' | 'buffer' | 'reference path';
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
export function checkBufferLimits(
	tensors: ShapeSource,
	limitBytes: number,
	activations: Record<string, readonly number[]> = {},
	readInParts: (name: string, shape: readonly number[]) => boolean | BufferItem['why'] = () => false,
	maxBufferBytes?: number
): BufferLimitReport {
	const items: BufferItem[] = [];
	for (const [name, t] of Object.entries(tensors)) {
		const shape = Array.isArray(t) ? (t as number[]) : [...(t as { shape: readonly number[] }).shape];
		const parts = readInParts(name, shape);
		if (parts === true) continue;
		items.push({ name, kind: 'parameter', shape: [...shape], bytes: 4 * count(shape), ...(parts ? { why: parts } : {}) });
	}
	const acts: BufferItem[] = Object.entries(activations).map(([name, shape]) => ({ name, kind: 'activation', shape: [...shape], bytes: 4 * count(shape) }));
	const largestActivation = acts.reduce<BufferItem | undefined>((best, a) => (!best || a.bytes > best.bytes ? a : best), undefined);
	const over = [...items, ...acts].filter((i) => i.bytes > limitBytes).sort((a, b) => b.bytes - a.bytes);
	return { limitBytes, over, largestActivation, message: over.length ? limitMessage(over, limitBytes, maxBufferBytes) : null };
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

export interface ModelLimitOptions {
	/** Whether the fast path runs (WebGPU's fused kernels); the reference path binds every tensor whole. Default true. */
	fastPath?: boolean;
	/** The adapter's maxBufferSize: a table read in parts is still one buffer. Unchecked when absent. */
	maxBufferBytes?: number;
}

/**
 * `checkBufferLimits` for a model's parameters and one step's activations. On the fast path an
 * embedding or LM head over the limit is read in parts, trained or not (its gradient is joined
 * from the parts' by copies, and the fused optimizer updates it in chunks), unless one row is over
 * the limit or the table is over `maxBufferBytes`.
 */
export function checkModelBufferLimits<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	step: { batchSize: number; seqLength: number },
	limitBytes: number,
	{ fastPath = true, maxBufferBytes }: ModelLimitOptions = {}
): BufferLimitReport {
	const inParts = (name: string, shape: readonly number[]): boolean | BufferItem['why'] => {
		if (!VOCABULARY_TABLE.test(name) || shape.length !== 2 || 4 * count(shape) <= limitBytes) return false;
		if (!fastPath) return 'reference path';
		if (4 * shape[1] > limitBytes) return 'row';
		if (maxBufferBytes !== undefined && 4 * count(shape) > maxBufferBytes) return 'buffer';
		return true;
	};
	return checkBufferLimits(spec.paramShapes(config), limitBytes, activationShapes(config, step.batchSize, step.seqLength), inParts, maxBufferBytes);
}

/** Throws a 'model-too-large' UserError with the report's message when something does not fit. */
export function assertWithinBufferLimits(report: BufferLimitReport): void {
	if (report.message) throw new UserError('model-too-large', report.message);
}

function size(bytes: number): string {
	const mib = bytes / 2 ** 20;
	if (mib < 1) return `${(bytes / 1024).toFixed(1)} KiB`;
	return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(1)} MiB`;
}

function limitMessage(over: BufferItem[], limit: number, maxBufferBytes?: number): string {
	const because: Record<NonNullable<BufferItem['why']>, string> = {
		row: `one row is itself over ${size(limit)}, so it cannot be read in parts`,
		buffer: `over the ${maxBufferBytes ? size(maxBufferBytes) : ''} this GPU allocates as one buffer (maxBufferSize)`,
		'reference path': 'the reference path binds it whole; the fast path reads it in parts'
	};
	const lines = over.slice(0, 6).map((i) => `  - ${i.kind} '${i.name}' [${i.shape.join(' x ')}]: ${size(i.bytes)}${i.why ? ` (${because[i.why]})` : ''}`);
	if (over.length > 6) lines.push(`  - and ${over.length - 6} more`);
	const todo: string[] = [];
	const params = over.filter((i) => i.kind === 'parameter');
	if (params.some((i) => i.why === 'reference path')) todo.push('train on the fast path (WebGPU), which reads an embedding or LM head over the limit in parts');
	if (params.some((i) => i.why !== 'reference path'))
		todo.push(
			params.some((i) => i.why === 'row')
				? 'pick a model with a smaller hidden size (one row of the embedding or LM head is hidden size x 4 bytes)'
				: 'pick a model with a smaller vocabulary or hidden size (the embedding and LM head are vocabulary x hidden size)'
		);
	if (over.some((i) => i.kind === 'activation')) todo.push('lower the batch size or the context length');
	todo.push('or run on a GPU and browser whose WebGPU adapter allows larger storage buffers');
	return (
		`${over.length} tensor(s) are larger than the ${size(limit)} this GPU lets one shader read or write at once (WebGPU maxStorageBufferBindingSize), so training would fail:\n` +
		lines.join('\n') +
		`\nTo fix it: ${todo.join('; ')}.`
	);
}
