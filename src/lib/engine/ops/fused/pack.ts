/**
 * Tensors joined along their first axis on WebGPU without a dispatch: row-major tensors that share
 * their trailing shape lie one after another in the joined buffer, so the join is one
 * copyBufferToBuffer per part, and its gradient cuts the upstream gradient back into the parts the
 * same way. Llama's q, k and v weights (and gate and up) become one (q + 2·kv, d) weight each step,
 * so the projection is one matmul forward, one for dx (the three dx products and the two adds that
 * sum them become one) and one for dW, whose rows are then cut into the three weights' gradients.
 * Reference: tf.concat(parts, 0), which its callers use off the fast path.
 *
 * The reverse, a tensor cut into parts of whole rows (`fusedRowParts`), is how a table larger than
 * one storage binding is read (../split.ts); its gradient is the join of the parts' gradients.
 *
 * The copies are encoded into tfjs's own command encoder between its compute passes, in order
 * with its kernels, as the fused optimizer's transfers are (train/fused-optimizer.ts).
 *
 * Dispatches: forward 0, backward 0 (one copy per part each way).
 */
import * as tf from '@tensorflow/tfjs';

export const CONCAT_ROWS_DISPATCHES = { forward: 0, backward: 0 };

type DataId = object;

/** The parts of tfjs's WebGPU backend the copies use (tfjs-backend-webgpu 4.x). */
interface CopyBackend {
	tensorMap: { get(dataId: DataId): { resource: GPUBuffer | null } | undefined };
	commandEncoder: GPUCommandEncoder | null;
	commandQueueOwnedIds: WeakSet<DataId>;
	ensureCommandEncoderReady(): void;
	endComputePassEncoder(): void;
	uploadToGPU(dataId: DataId): void;
	makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

const JOIN = 'WhetstoneConcatRows';
const CUT = 'WhetstoneRowsOf';
const PARTS = 'WhetstoneRowParts';

interface PartsAttrs {
	/** Rows in each part, in order; they sum to the tensor's first axis. */
	rows: number[];
}

interface CutAttrs {
	/** First element of the part in the joined tensor, and its shape. */
	offset: number;
	shape: number[];
}

/** A GPU buffer holding `t` (uploaded if it is still on the CPU), kept alive until the next submit. */
function bufferOf(backend: CopyBackend, t: tf.TensorInfo): GPUBuffer {
	backend.uploadToGPU(t.dataId);
	backend.commandQueueOwnedIds.add(t.dataId);
	const buffer = backend.tensorMap.get(t.dataId)?.resource;
	if (!buffer) throw new Error('A tensor to copy has no GPU buffer.');
	return buffer;
}

function encoder(backend: CopyBackend): GPUCommandEncoder {
	backend.ensureCommandEncoderReady();
	backend.endComputePassEncoder();
	return backend.commandEncoder!;
}

let registered = false;

function register(): void {
	if (registered) return;
	registered = true;
	tf.registerKernel({
		kernelName: JOIN,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend }) => {
			const b = backend as unknown as CopyBackend;
			// The parts come as an array (as tfjs's Concat takes them), so saveAllInputs keeps their order.
			const parts = Object.values(inputs) as tf.TensorInfo[];
			const rows = parts.reduce((n, p) => n + p.shape[0], 0);
			const out = b.makeTensorInfo([rows, ...parts[0].shape.slice(1)], 'float32');
			const target = bufferOf(b, out);
			const enc = encoder(b);
			let at = 0;
			for (const p of parts) {
				const bytes = tf.util.sizeFromShape(p.shape) * 4;
				if (bytes) enc.copyBufferToBuffer(bufferOf(b, p), 0, target, at, bytes);
				at += bytes;
			}
			return out;
		}
	});
	tf.registerKernel({
		kernelName: CUT,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend, attrs }) => {
			const b = backend as unknown as CopyBackend;
			const { offset, shape } = attrs as unknown as CutAttrs;
			const out = b.makeTensorInfo(shape, 'float32');
			const bytes = tf.util.sizeFromShape(shape) * 4;
			if (bytes) encoder(b).copyBufferToBuffer(bufferOf(b, inputs.x!), offset * 4, bufferOf(b, out), 0, bytes);
			return out;
		}
	});
	tf.registerKernel({
		kernelName: PARTS,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend, attrs }) => {
			const b = backend as unknown as CopyBackend;
			const x = inputs.x!;
			const width = x.shape[0] ? tf.util.sizeFromShape(x.shape) / x.shape[0] : 0;
			const source = bufferOf(b, x);
			let at = 0;
			return (attrs as unknown as PartsAttrs).rows.map((rows) => {
				const out = b.makeTensorInfo([rows, ...x.shape.slice(1)], 'float32');
				const bytes = rows * width * 4;
				if (bytes) encoder(b).copyBufferToBuffer(source, at, bufferOf(b, out), 0, bytes);
				at += bytes;
				return out;
			});
		}
	});
	tf.registerGradient({
		// The parts' gradients joined by copies into one tensor of the input's shape, never bound by a
		// shader (a part no use reached comes as zeros from tfjs).
		kernelName: PARTS,
		gradFunc: (dy) => {
			const dys = Array.isArray(dy) ? dy : [dy];
			return { x: () => (dys.length === 1 ? dys[0].clone() : (tf.engine().runKernel(JOIN, dys as unknown as tf.NamedTensorMap, {}) as tf.Tensor)) };
		}
	});
	tf.registerGradient({
		kernelName: JOIN,
		saveAllInputs: true,
		gradFunc: (dy, saved) => {
			const grads: Record<string, () => tf.Tensor> = {};
			let offset = 0;
			saved.forEach((p, i) => {
				const at = offset;
				grads[String(i)] = () => tf.engine().runKernel(CUT, { x: dy as tf.Tensor }, { offset: at, shape: p.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
				offset += p.size;
			});
			return grads;
		}
	});
}

/**
 * float32 tensors with the same shape past the first axis, joined along it by buffer copies; the
 * gradient cuts dy back into the parts' shapes by copies too.
 */
export function fusedConcatRows(parts: tf.Tensor[]): tf.Tensor {
	register();
	return tf.engine().runKernel(JOIN, parts as unknown as tf.NamedTensorMap, {}) as tf.Tensor;
}

/**
 * A float32 tensor's rows in consecutive parts of `rows[i]` rows, each cut out by one buffer copy
 * (no dispatch; the tensor may be larger than one binding). Differentiable: the gradient is the
 * parts' gradients joined by copies into one tensor of x's shape, so a table too large to bind
 * trains part by part (../split.ts); a part used twice (a tied embedding and LM head) has its two
 * gradients added at its own size first.
 */
export function fusedRowParts(x: tf.Tensor, rows: number[]): tf.Tensor[] {
	register();
	const out = tf.engine().runKernel(PARTS, { x }, { rows } as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
	return Array.isArray(out) ? out : [out];
}
