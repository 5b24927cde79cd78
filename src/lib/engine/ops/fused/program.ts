/**
 * Running a hand-written WGSL program on the tfjs WebGPU backend (the fast path of issue 10): the
 * program object follows tfjs-backend-webgpu's `WebGPUProgram` (softmax_webgpu.ts is the model),
 * so the backend compiles and caches its pipeline, binds its buffers and encodes its dispatch in
 * the same command stream as its own kernels, and the result is an ordinary tensor.
 *
 * Only a type is imported from tfjs-backend-webgpu: the package registers itself when loaded, and
 * the engine loads it only when it starts WebGPU (backend.ts), never in Node's unit tests.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { reductions } from './reductions';

export type { WebGPUProgram };

/** A program-defined uniform, appended after the shapes tfjs passes to every program. */
export interface ProgramUniform {
	type: 'float32' | 'int32' | 'uint32';
	data: number[];
}

interface WebGPUBackendLike {
	runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: ProgramUniform[]): tf.TensorInfo;
}

/** Run one program (one dispatch) on the active WebGPU backend; its output as a tracked tensor. */
export function runProgram(program: WebGPUProgram, inputs: tf.Tensor[], uniforms?: ProgramUniform[], dtype: tf.DataType = 'float32'): tf.Tensor {
	return tf.engine().makeTensorFromTensorInfo(runProgramInfo(tf.backend(), program, inputs, uniforms, dtype));
}

/** The same inside a registered kernel's kernelFunc, which takes and returns TensorInfos. */
export function runProgramInfo(backend: unknown, program: WebGPUProgram, inputs: tf.TensorInfo[], uniforms?: ProgramUniform[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
	return (backend as WebGPUBackendLike).runWebGPUProgram(program, inputs, dtype, uniforms);
}

/** tfjs's flat dispatch layout: every output axis folded into x. */
function flatLayout(rank: number): { x: number[] } {
	return { x: Array.from({ length: rank }, (_, i) => i) };
}

/** Threads per workgroup for a row-wise program: wide rows get more threads to share the row. */
export function rowWorkgroupSize(width: number): number {
	return width >= 4096 ? 256 : 64;
}

/**
 * A program with one row per workgroup (or per thread: see reductions.ts) of a (rows, width)
 * problem: `main(index)` gets the global invocation index, `row` and `tid`. The body is WGSL that
 * walks its share of the row with `for (var c = tid; c < n; c += WG)` and combines shares with
 * `wgSum` and `wgMax`, and bounds-checks `row` against its shapes. tfjs reshapes a dispatch past
 * 65,535 workgroups into 2D; the global index stays right because the layout is flat.
 *
 * With 'thread' reductions the same body runs with WG = 1 and tid = 0: one thread walks the whole
 * row, `wgSum` and `wgMax` return what they are given, and no barrier is compiled in.
 */
export function rowProgram(key: string, variableNames: string[], outputShape: number[], rows: number, width: number, body: string, uniforms?: string): WebGPUProgram {
	if (reductions() === 'thread') {
		const threads = 64;
		return {
			variableNames,
			outputShape,
			shaderKey: `${key}_thread`,
			dispatchLayout: flatLayout(outputShape.length),
			dispatch: [Math.ceil(rows / threads), 1, 1],
			workgroupSize: [threads, 1, 1],
			uniforms,
			getUserCode: () => `
			const WG = 1;
			fn wgSum(v : f32, tid : i32) -> f32 { return v; }
			fn wgMax(v : f32, tid : i32) -> f32 { return v; }
			fn main(index : i32) {
				let row = index;
				let tid = 0;
				${body}
			}`
		};
	}
	const wg = rowWorkgroupSize(width);
	return {
		variableNames,
		outputShape,
		shaderKey: `${key}_${wg}`,
		dispatchLayout: flatLayout(outputShape.length),
		dispatch: [rows, 1, 1],
		workgroupSize: [wg, 1, 1],
		uniforms,
		getUserCode: () => `
			const WG = ${wg};
			${reduceSnippet(wg)}
			fn main(index : i32) {
				let row = index / WG;
				let tid = i32(localId.x);
				${body}
			}`
	};
}

/**
 * Workgroup sum and max over WG threads: every thread passes its partial value and gets the total.
 * The barrier after the read keeps the next reduction from overwriting the buffer too early.
 */
function reduceSnippet(wg: number): string {
	return `
		var<workgroup> red : array<f32, ${wg}>;
		fn wgSum(v : f32, tid : i32) -> f32 {
			red[tid] = v;
			workgroupBarrier();
			for (var s = ${wg / 2}; s > 0; s = s >> 1) {
				if (tid < s) { red[tid] = red[tid] + red[tid + s]; }
				workgroupBarrier();
			}
			let total = red[0];
			workgroupBarrier();
			return total;
		}
		fn wgMax(v : f32, tid : i32) -> f32 {
			red[tid] = v;
			workgroupBarrier();
			for (var s = ${wg / 2}; s > 0; s = s >> 1) {
				if (tid < s) { red[tid] = max(red[tid], red[tid + s]); }
				workgroupBarrier();
			}
			let total = red[0];
			workgroupBarrier();
			return total;
		}`;
}

/** An elementwise program: one thread per output element, `main(index)` with a bounds check. */
export function elementwiseProgram(key: string, variableNames: string[], outputShape: number[], body: string, uniforms?: string): WebGPUProgram {
	const size = outputShape.reduce((a, b) => a * b, 1);
	const wg = 64;
	return {
		variableNames,
		outputShape,
		shaderKey: key,
		dispatchLayout: flatLayout(outputShape.length),
		dispatch: [Math.ceil(size / wg), 1, 1],
		workgroupSize: [wg, 1, 1],
		size: true,
		uniforms,
		getUserCode: () => `
			fn main(index : i32) {
				if (index < uniforms.size) {
					${body}
				}
			}`
	};
}

interface WritableBackend {
	device: GPUDevice;
	runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: ProgramUniform[], output?: tf.TensorInfo): tf.TensorInfo;
	makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/**
 * A float32 tensor with a buffer but no contents: a second output for `runIntoWritable` to fill.
 * Nothing is uploaded or dispatched for it; made outside a gradient's thunks, it lives as long as
 * the backward pass, so one thunk can write it and another read it.
 */
export function emptyTensor(shape: number[]): tf.Tensor {
	const backend = tf.backend() as unknown as WritableBackend;
	return tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo(shape, 'float32'));
}

/**
 * Call `run` (which compiles and dispatches one tfjs program) with the device's
 * `createShaderModule` rewriting each named binding from `var<storage, read>` to
 * `var<storage, read_write>`: the shader tfjs makes declares every input read-only, and the
 * pipeline's layout is derived from the shader, so the bind group tfjs makes still fits. Throws,
 * naming `kernel`, if the shader has no such binding (tfjs-backend-webgpu changed its template).
 */
export function withWritableBindings<T>(names: string[], kernel: string, run: () => T): T {
	const device = (tf.backend() as unknown as WritableBackend).device;
	const own = Object.prototype.hasOwnProperty.call(device, 'createShaderModule');
	const original = device.createShaderModule;
	device.createShaderModule = function (this: GPUDevice, desc: GPUShaderModuleDescriptor) {
		let code = desc.code;
		for (const name of names) {
			const read = `var<storage, read> ${name}:`;
			if (!code.includes(read)) throw new Error(`${kernel}: the shader tfjs made has no '${read}' to make writable (tfjs-backend-webgpu changed its template).`);
			code = code.replace(read, `var<storage, read_write> ${name}:`);
		}
		return original.call(this, { ...desc, code });
	};
	try {
		return run();
	} finally {
		if (own) device.createShaderModule = original;
		else delete (device as { createShaderModule?: unknown }).createShaderModule;
	}
}

/**
 * Run `program` with `writable` (existing tensors, bound after `inputs` under the given names) as
 * extra outputs, through `withWritableBindings`, for tensors that must outlive the call's scope.
 * The program's own output is returned (`into` when given, written in place). One dispatch.
 */
export function runIntoWritable(program: WebGPUProgram, inputs: tf.Tensor[], writable: { name: string; tensor: tf.Tensor }[], uniforms?: ProgramUniform[], into?: tf.Tensor): tf.Tensor {
	const backend = tf.backend() as unknown as WritableBackend;
	return withWritableBindings(
		writable.map((w) => w.name),
		'Fused kernel',
		() => {
			const out = backend.runWebGPUProgram(program, [...inputs, ...writable.map((w) => w.tensor)], 'float32', uniforms, into);
			return into ?? tf.engine().makeTensorFromTensorInfo(out);
		}
	);
}
