/**
 * The subset of onnx.proto (ONNX 1.14, IR version 8) an exported model needs, written as
 * protobuf wire format by hand: ModelProto, OperatorSetIdProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto and the TypeProto/TensorShapeProto inside it.
 * Field numbers are onnx.proto's (github.com/onnx/onnx/blob/v1.14.0/onnx/onnx.proto).
 *
 * Hand-written rather than protobufjs with the schema: only the write side of seven messages is
 * needed (about a hundred lines), it adds no dependency to the site, and the weights go in as one
 * `raw_data` copy each, with the message sizes known before any byte is written.
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

export interface TensorProto {
	name: string;
	dataType: DataTypeId;
	dims: number[];
	/** Little-endian bytes of the elements (`raw_data`). */
	raw: Uint8Array;
}

export type AttributeValue = number | string | number[] | TensorProto | { float: number } | { floats: number[] };

export interface NodeProto {
	opType: string;
	inputs: string[];
	outputs: string[];
	name?: string;
	attributes?: Record<string, AttributeValue>;
}

export interface ValueInfoProto {
	name: string;
	elemType: DataTypeId;
	/** A number is a fixed size; a string is a named dynamic dimension (`dim_param`). */
	dims: (number | string)[];
}

export interface GraphProto {
	name: string;
	nodes: NodeProto[];
	initializers: TensorProto[];
	inputs: ValueInfoProto[];
	outputs: ValueInfoProto[];
}

export interface ModelProto {
	irVersion: number;
	opsetVersion: number;
	producerName: string;
	producerVersion: string;
	docString?: string;
	graph: GraphProto;
}

/** A message under construction: its fields as byte chunks, concatenated once at the end. */
class Writer {
	chunks: Uint8Array[] = [];
	length = 0;

	private push(b: Uint8Array) {
		this.chunks.push(b);
		this.length += b.length;
	}

	/** An unsigned varint; negative int64s are written as their two's complement (10 bytes). */
	varint(v: number | bigint) {
		let x = BigInt.asUintN(64, BigInt(v));
		const out: number[] = [];
		while (x >= 0x80n) {
			out.push(Number(x & 0x7fn) | 0x80);
			x >>= 7n;
		}
		out.push(Number(x));
		this.push(Uint8Array.from(out));
	}

	private key(field: number, wire: 0 | 1 | 2 | 5) {
		this.varint((field << 3) | wire);
	}

	int(field: number, v: number) {
		this.key(field, 0);
		this.varint(v);
	}

	float(field: number, v: number) {
		this.key(field, 5);
		const b = new Uint8Array(4);
		new DataView(b.buffer).setFloat32(0, v, true);
		this.push(b);
	}

	bytes(field: number, b: Uint8Array) {
		this.key(field, 2);
		this.varint(b.length);
		this.push(b);
	}

	string(field: number, s: string) {
		this.bytes(field, new TextEncoder().encode(s));
	}

	message(field: number, m: Writer) {
		this.key(field, 2);
		this.varint(m.length);
		for (const c of m.chunks) this.push(c);
	}

	/** A packed repeated varint field. */
	packed(field: number, vs: number[]) {
		const inner = new Writer();
		for (const v of vs) inner.varint(v);
		this.message(field, inner);
	}

	packedFloats(field: number, vs: number[]) {
		const b = new Uint8Array(4 * vs.length);
		const dv = new DataView(b.buffer);
		vs.forEach((v, i) => dv.setFloat32(4 * i, v, true));
		this.bytes(field, b);
	}

	finish(): Uint8Array {
		const out = new Uint8Array(this.length);
		let o = 0;
		for (const c of this.chunks) {
			out.set(c, o);
			o += c.length;
		}
		return out;
	}
}

function tensor(t: TensorProto): Writer {
	const w = new Writer();
	w.packed(1, t.dims); // dims
	w.int(2, t.dataType); // data_type
	w.string(8, t.name); // name
	w.bytes(9, t.raw); // raw_data
	return w;
}

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function attribute(name: string, v: AttributeValue): Writer {
	const w = new Writer();
	w.string(1, name);
	if (typeof v === 'number') {
		if (!Number.isInteger(v)) throw new Error(`ONNX attribute '${name}': ${v} is not an integer; give a float as { float: ${v} }.`);
		w.int(3, v); // i
		w.int(20, ATTR.INT);
	} else if (typeof v === 'string') {
		w.string(4, v); // s
		w.int(20, ATTR.STRING);
	} else if (Array.isArray(v)) {
		w.packed(8, v); // ints
		w.int(20, ATTR.INTS);
	} else if ('float' in v) {
		w.float(2, v.float); // f
		w.int(20, ATTR.FLOAT);
	} else if ('floats' in v) {
		w.packedFloats(7, v.floats); // floats
		w.int(20, ATTR.FLOATS);
	} else {
		w.message(5, tensor(v)); // t
		w.int(20, ATTR.TENSOR);
	}
	return w;
}

function node(n: NodeProto): Writer {
	const w = new Writer();
	for (const i of n.inputs) w.string(1, i);
	for (const o of n.outputs) w.string(2, o);
	if (n.name) w.string(3, n.name);
	w.string(4, n.opType);
	for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, attribute(k, v));
	return w;
}

function valueInfo(v: ValueInfoProto): Writer {
	const shape = new Writer();
	for (const d of v.dims) {
		const dim = new Writer();
		if (typeof d === 'number') dim.int(1, d); // dim_value
		else dim.string(2, d); // dim_param
		shape.message(1, dim);
	}
	const tensorType = new Writer();
	tensorType.int(1, v.elemType); // elem_type
	tensorType.message(2, shape); // shape
	const type = new Writer();
	type.message(1, tensorType); // TypeProto.tensor_type
	const w = new Writer();
	w.string(1, v.name);
	w.message(2, type);
	return w;
}

function graph(g: GraphProto): Writer {
	const w = new Writer();
	for (const n of g.nodes) w.message(1, node(n));
	w.string(2, g.name);
	for (const t of g.initializers) w.message(5, tensor(t));
	for (const i of g.inputs) w.message(11, valueInfo(i));
	for (const o of g.outputs) w.message(12, valueInfo(o));
	return w;
}

/** The bytes of a `.onnx` file. */
export function encodeModel(m: ModelProto): Uint8Array {
	const w = new Writer();
	w.int(1, m.irVersion); // ir_version
	w.string(2, m.producerName);
	w.string(3, m.producerVersion);
	if (m.docString) w.string(6, m.docString);
	w.message(7, graph(m.graph));
	const opset = new Writer();
	opset.string(1, ''); // the default domain, ai.onnx
	opset.int(2, m.opsetVersion);
	w.message(8, opset);
	return w.finish();
}
