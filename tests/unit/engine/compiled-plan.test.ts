import { describe, expect, it } from 'vitest';
import { dropKey } from '../../../src/lib/engine/ops/dropout';
import { planTemporaries, predict, type DataWrite, type Life, type Trace, type TraceEvent } from '../../../src/lib/engine/compiled/step-plan';
import type { StepContext } from '../../../src/lib/engine/compiled/notes';

const buf = (size: number, usage = 140) => ({ size, usage }) as unknown as GPUBuffer;
let ids = 0;
const life = (b: GPUBuffer, o: Partial<Life> = {}): Life => ({ id: ids++, buffer: b, acquired: true, released: true, used: true, ...o });
const copy = (src: Life, dst: Life): TraceEvent => ({ kind: 'copy', phase: 'forward', src, srcOffset: 0, dst, dstOffset: 0, size: 4 });
const trace = (events: TraceEvent[], lives: Life[], ins = new Map<GPUBuffer, number>()): Trace => ({ ctx: ctx(0), events, lives, ins, outs: [], failure: null });
const ctx = (seed: number, arrays: Record<string, ArrayBufferView> = {}): StepContext => ({ arrays, seed, lr: 1e-3, optimizerStep: 1 });

describe('planTemporaries', () => {
	it('hands a buffer on to a later temporary of its size once its last command has run', () => {
		const ext = life(buf(16), { acquired: false, released: false });
		const [a, b, c, d] = [life(buf(16)), life(buf(16)), life(buf(16)), life(buf(32))];
		// a: commands 0–1, b: 1–2 (overlaps a), c: 3 (after both), d: another size.
		const events = [copy(ext, a), copy(a, b), copy(b, ext), copy(ext, c), copy(ext, d)];
		const made: GPUBuffer[] = [];
		const out = planTemporaries(trace(events, [ext, a, b, c, d]), new Map(), (like) => {
			const n = buf(like.size, like.usage);
			made.push(n);
			return n;
		});
		expect(out.has(ext)).toBe(false); // a buffer found before the step is bound as it is
		expect(out.get(a)).not.toBe(out.get(b));
		expect([out.get(a), out.get(b)]).toContain(out.get(c)); // both ended before c starts at command 3
		expect(out.get(d)!.size).toBe(32);
		expect(made).toHaveLength(3);
	});

	it('never shares within the command where one ends and the next begins', () => {
		const ext = life(buf(8), { acquired: false, released: false });
		const [a, b] = [life(buf(8)), life(buf(8))];
		const out = planTemporaries(trace([copy(ext, a), copy(a, b), copy(b, ext)], [ext, a, b]), new Map(), (like) => buf(like.size));
		expect(out.get(a)).not.toBe(out.get(b));
	});

	it('leaves data, outputs and inputs out', () => {
		const inBuf = buf(8);
		const input = life(inBuf, { acquired: false, released: true });
		const data = life(buf(8), { data: { kind: 'upload', bytes: new Uint8Array(8), dtype: 'float32' } });
		const out = life(buf(8), { released: false });
		const t = trace([copy(data, out), copy(input, out)], [input, data, out], new Map([[inBuf, 0]]));
		expect(planTemporaries(t, new Map([[out, 0]]), (like) => buf(like.size)).size).toBe(0);
	});
});

describe('predict', () => {
	const bytes = (words: number[]) => new Uint8Array(Uint32Array.from(words).buffer);
	const noUniforms = () => new Uint8Array(0);

	it('uploads a named array from the step, and anything else as it was', () => {
		const named: DataWrite = { kind: 'upload', bytes: bytes([1, 2]), dtype: 'int32', array: 'ids' };
		const fixed: DataWrite = { kind: 'upload', bytes: bytes([7]), dtype: 'float32' };
		expect(Array.from(new Int32Array((predict(named, ctx(0, { ids: Int32Array.of(5, 6) }), noUniforms) as Uint8Array).buffer))).toEqual([5, 6]);
		expect(predict(named, ctx(0), noUniforms)).toMatch(/no array 'ids'/);
		expect(predict(fixed, ctx(9), noUniforms)).toEqual(bytes([7]));
	});

	it('re-derives dropout keys and seeds from the step seed and the site offset', () => {
		const w: DataWrite = { kind: 'write', offset: 0, bytes: bytes([4, 0, 0]), keys: [{ at: 4, seedOffset: 7919, stream: 0 }, { at: 8, seedOffset: 7919 * 2, stream: null }] };
		const words = new Uint32Array((predict(w, ctx(100), noUniforms) as Uint8Array).buffer);
		expect(words[0]).toBe(4);
		expect(words[1]).toBe(dropKey(100 + 7919, 0));
		expect(words[2]).toBe(100 + 7919 * 2);
		// The recorded bytes are left alone.
		expect(new Uint32Array(w.bytes.buffer)[1]).toBe(0);
	});

	it('rebuilds noted uniforms from the step context', () => {
		const w: DataWrite = { kind: 'write', offset: 0, bytes: bytes([0]), keys: [], build: (c) => [{ type: 'float32', data: [c.lr] }] };
		const out = predict(w, ctx(0), (list) => new Uint8Array(Float32Array.from(list.flatMap((u) => u.data)).buffer)) as Uint8Array;
		expect(new Float32Array(out.buffer)[0]).toBeCloseTo(1e-3, 9);
	});
});
