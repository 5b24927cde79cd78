/**
 * Building an ONNX graph (opset 17) from TypeScript: named inputs and outputs, weights as
 * initializers, int64/float constants, and nodes whose outputs get fresh names, then the model's
 * bytes through proto.ts. A weight is stored either as float32 or as float16 followed by a Cast to
 * float32 (the `model_fp16.onnx` transformers.js picks with `dtype: 'fp16'`): the file is half the
 * size, the arithmetic stays float32, and the graph's inputs and outputs (logits, the KV cache)
 * keep the same types in both files.
 *
 * Reference: the ONNX operator docs at opset 17 (onnx.ai/onnx/operators), which decide which
 * attributes are inputs (Unsqueeze/Squeeze/ReduceSum axes, Split sizes) and which are still
 * attributes (ReduceMean axes).
 */
import { floatToHalf } from '../../engine/io/float16';
import { DataType, encodeModel, type AttributeValue, type DataTypeId, type NodeProto, type TensorProto, type ValueInfoProto } from './proto';

export const OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12+). */
export const IR_VERSION = 8;
/** float32's lowest finite value: what transformers adds or writes at masked attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;

export type WeightDtype = 'fp32' | 'fp16';

export class Graph {
	readonly nodes: NodeProto[] = [];
	readonly initializers: TensorProto[] = [];
	readonly inputs: ValueInfoProto[] = [];
	readonly outputs: ValueInfoProto[] = [];
	private counter = 0;
	private constants = new Map<string, string>();
	private weights = new Map<string, string>();
	/** A float16 weight's stored name, for ops (Gather) that read it before the Cast. */
	private stored = new Map<string, string>();

	constructor(readonly dtype: WeightDtype = 'fp32') {}

	input(name: string, elemType: DataTypeId, dims: (number | string)[]): string {
		this.inputs.push({ name, elemType, dims });
		return name;
	}

	/** Declares `value` a graph output named `name` (through an Identity when the names differ). */
	output(name: string, value: string, elemType: DataTypeId, dims: (number | string)[]): void {
		if (value !== name) this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name] });
		this.outputs.push({ name, elemType, dims });
	}

	/** A node with `n` outputs; returns their names. */
	opN(opType: string, inputs: string[], n: number, attributes?: Record<string, AttributeValue>): string[] {
		const id = this.counter++;
		const outputs = Array.from({ length: n }, (_, i) => `/${opType}_${id}${n > 1 ? `_${i}` : ''}`);
		this.nodes.push({ opType, inputs, outputs, name: `${opType}_${id}`, attributes });
		return outputs;
	}

	op(opType: string, inputs: string[], attributes?: Record<string, AttributeValue>): string {
		return this.opN(opType, inputs, 1, attributes)[0];
	}

	/** A float32 parameter, by its Hugging Face name; stored once however often it is used. */
	weight(name: string, shape: number[], data: Float32Array): string {
		const known = this.weights.get(name);
		if (known) return known;
		const n = shape.reduce((a, b) => a * b, 1);
		if (data.length !== n) throw new Error(`ONNX export: '${name}' has ${data.length} values but shape [${shape.join(', ')}].`);
		let value = name;
		if (this.dtype === 'fp16') {
			const half = new Uint16Array(n);
			for (let i = 0; i < n; i++) half[i] = floatToHalf(data[i]);
			this.initializers.push({ name, dataType: DataType.FLOAT16, dims: shape, raw: bytes(half) });
			value = this.op('Cast', [name], { to: DataType.FLOAT });
			this.stored.set(value, name);
		} else this.initializers.push({ name, dataType: DataType.FLOAT, dims: shape, raw: bytes(data) });
		this.weights.set(name, value);
		return value;
	}

	/** Rows of an embedding table: a float16 table is gathered first and only those rows cast. */
	gather(table: string, ids: string): string {
		const raw = this.stored.get(table);
		if (!raw) return this.op('Gather', [table, ids]);
		return this.op('Cast', [this.op('Gather', [raw, ids])], { to: DataType.FLOAT });
	}

	/** An int64 constant (1-D unless `dims` says otherwise, [] for a scalar). */
	ints(values: number[], dims: number[] = [values.length]): string {
		return this.constant('i', DataType.INT64, dims, values, () => bytes(BigInt64Array.from(values.map(BigInt))));
	}

	/** A float32 constant. */
	floats(values: number[] | Float32Array, dims: number[] = [values.length]): string {
		return this.constant('f', DataType.FLOAT, dims, Array.from(values), () => bytes(Float32Array.from(values)));
	}

	scalar(v: number): string {
		return this.floats([v], []);
	}

	private constant(kind: string, dataType: DataTypeId, dims: number[], values: number[], raw: () => Uint8Array): string {
		const key = `${kind}|${dims.join(',')}|${values.join(',')}`;
		let name = this.constants.get(key);
		if (!name) {
			name = `/const_${this.constants.size}`;
			this.initializers.push({ name, dataType, dims, raw: raw() });
			this.constants.set(key, name);
		}
		return name;
	}

	/** The bytes of the `.onnx` file. */
	encode(name: string, docString?: string): Uint8Array {
		return encodeModel({
			irVersion: IR_VERSION,
			opsetVersion: OPSET,
			producerName: 'whetstone',
			producerVersion: '1',
			docString,
			graph: { name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs }
		});
	}
}

function bytes(a: ArrayBufferView): Uint8Array {
	// typed arrays are little-endian on every platform a browser runs on, as raw_data requires
	return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
