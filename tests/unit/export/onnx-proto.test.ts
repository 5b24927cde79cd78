/**
 * The hand-written ONNX protobuf writer read back by a tiny wire-format decoder written here
 * (field numbers from onnx.proto v1.14), and by onnxruntime-web, which must accept the bytes and
 * compute with them.
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/lib/export/onnx/graph';
import { DataType, encodeModel } from '../../../src/lib/export/onnx/proto';

type Field = bigint | Uint8Array | number;

/** field number -> values, in order: varints as bigint, length-delimited as bytes, fixed32 as float. */
function decode(buf: Uint8Array): Map<number, Field[]> {
	const out = new Map<number, Field[]>();
	let i = 0;
	const varint = () => {
		let v = 0n;
		let shift = 0n;
		for (;;) {
			const b = buf[i++];
			v |= BigInt(b & 0x7f) << shift;
			if (!(b & 0x80)) return v;
			shift += 7n;
		}
	};
	while (i < buf.length) {
		const key = Number(varint());
		const [field, wire] = [key >> 3, key & 7];
		let value: Field;
		if (wire === 0) value = varint();
		else if (wire === 2) {
			const n = Number(varint());
			value = buf.subarray(i, i + n);
			i += n;
		} else if (wire === 5) {
			value = new DataView(buf.buffer, buf.byteOffset + i, 4).getFloat32(0, true);
			i += 4;
		} else throw new Error(`unexpected wire type ${wire}`);
		out.set(field, [...(out.get(field) ?? []), value]);
	}
	return out;
}

const str = (f: Field | undefined) => new TextDecoder().decode(f as Uint8Array);
const msg = (f: Field | undefined) => decode(f as Uint8Array);
const packed = (f: Field | undefined) => {
	const b = f as Uint8Array;
	const vals: bigint[] = [];
	let v = 0n;
	let shift = 0n;
	for (const byte of b) {
		v |= BigInt(byte & 0x7f) << shift;
		shift += 7n;
		if (!(byte & 0x80)) {
			vals.push(BigInt.asIntN(64, v));
			v = 0n;
			shift = 0n;
		}
	}
	return vals.map(Number);
};

describe('ONNX protobuf writer', () => {
	it('writes ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and ValueInfoProto fields that read back', () => {
		const bytes = encodeModel({
			irVersion: 8,
			opsetVersion: 17,
			producerName: 'whetstone',
			producerVersion: '1',
			graph: {
				name: 'g',
				nodes: [{ opType: 'Transpose', inputs: ['x'], outputs: ['y'], name: 'n0', attributes: { perm: [1, 0], eps: { float: 0.5 }, mode: 'a', axis: -1 } }],
				initializers: [{ name: 'w', dataType: DataType.FLOAT, dims: [2, 3], raw: new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer) }],
				inputs: [{ name: 'x', elemType: DataType.INT64, dims: ['batch_size', 4] }],
				outputs: [{ name: 'y', elemType: DataType.FLOAT, dims: [4, 'batch_size'] }]
			}
		});
		const model = decode(bytes);
		expect(model.get(1)).toEqual([8n]); // ir_version
		expect(str(model.get(2)?.[0])).toBe('whetstone');
		const opset = msg(model.get(8)?.[0]);
		expect([str(opset.get(1)?.[0]), opset.get(2)]).toEqual(['', [17n]]);
		const graph = msg(model.get(7)?.[0]);
		expect(str(graph.get(2)?.[0])).toBe('g');

		const node = msg(graph.get(1)?.[0]);
		expect([str(node.get(1)?.[0]), str(node.get(2)?.[0]), str(node.get(3)?.[0]), str(node.get(4)?.[0])]).toEqual(['x', 'y', 'n0', 'Transpose']);
		const attrs = Object.fromEntries((node.get(5) ?? []).map((a) => [str(msg(a).get(1)?.[0]), msg(a)]));
		expect(packed(attrs.perm.get(8)?.[0])).toEqual([1, 0]); // ints
		expect(attrs.perm.get(20)).toEqual([7n]); // INTS
		expect(attrs.eps.get(2)).toEqual([0.5]); // f
		expect(attrs.eps.get(20)).toEqual([1n]); // FLOAT
		expect(str(attrs.mode.get(4)?.[0])).toBe('a');
		expect(BigInt.asIntN(64, attrs.axis.get(3)?.[0] as bigint)).toBe(-1n); // a negative int64 as its 10-byte two's complement

		const init = msg(graph.get(5)?.[0]);
		expect(packed(init.get(1)?.[0])).toEqual([2, 3]);
		expect(init.get(2)).toEqual([1n]); // FLOAT
		expect(str(init.get(8)?.[0])).toBe('w');
		const raw = init.get(9)?.[0] as Uint8Array;
		expect(Array.from(new Float32Array(raw.slice().buffer))).toEqual([1, 2, 3, 4, 5, 6]);

		const input = msg(graph.get(11)?.[0]);
		expect(str(input.get(1)?.[0])).toBe('x');
		const tensorType = msg(msg(input.get(2)?.[0]).get(1)?.[0]);
		expect(tensorType.get(1)).toEqual([7n]); // INT64
		const dims = (msg(tensorType.get(2)?.[0]).get(1) ?? []).map((d) => msg(d));
		expect(str(dims[0].get(2)?.[0])).toBe('batch_size');
		expect(dims[1].get(1)).toEqual([4n]);
		expect(str(msg(graph.get(12)?.[0]).get(1)?.[0])).toBe('y');
	});

	it('a graph built with it runs in onnxruntime-web, with float16 weights cast back to float32', async () => {
		ort.env.wasm.numThreads = 1;
		for (const dtype of ['fp32', 'fp16'] as const) {
			const g = new Graph(dtype);
			const x = g.input('x', DataType.FLOAT, ['batch_size', 2]);
			const w = g.weight('w', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 0.1]));
			g.output('y', g.op('Add', [g.op('MatMul', [x, w]), g.floats([10, 20, 30])]), DataType.FLOAT, ['batch_size', 3]);
			const s = await ort.InferenceSession.create(g.encode('tiny'));
			const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 2, 0]), [2, 2]) });
			const y = Array.from(r.y.data as Float32Array);
			// 0.1 is 0.0999755859375 in float16
			const last = dtype === 'fp16' ? 3.0999755859375 : Math.fround(3 + Math.fround(0.1));
			expect(y.slice(0, 2)).toEqual([15, 27]);
			expect(y[2]).toBeCloseTo(30 + last, 5);
			expect(y.slice(3)).toEqual([12, 24, 36]);
		}
	});
});
