/**
 * The importer fuzzed (issue 14): random bytes, truncations, encodings, line-end mixes, deep
 * nesting, prototype keys and huge fields. Every input ends in a named error (a UserError with a
 * code) or a valid table, whose rows are prototype-free maps of strings over its columns; nothing
 * else is thrown, and no case takes long.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTable, type ParsedTable } from '../../../src/lib/data/parse';
import { inspectFile } from '../../../src/lib/data/pipeline';
import { UserError } from '../../../src/lib/shared/errors';

const NAMES = ['data.csv', 'data.tsv', 'data.jsonl', 'data.json', 'data.txt', 'data'];
const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__'];
/** Per case: a bound far above the slowest input here, so a hang or a quadratic blow-up fails. */
const CASE_MS = 2000;

/** Runs the parser and the worker's preview on one input and checks the outcome's contract. */
async function check(name: string, bytes: Uint8Array): Promise<void> {
	const started = performance.now();
	let table: ParsedTable | null = null;
	try {
		table = parseTable(name, bytes);
		await inspectFile(name, bytes.slice().buffer as ArrayBuffer);
	} catch (e) {
		if (!(e instanceof UserError)) throw new Error(`${name}: not a named error: ${(e as Error)?.stack ?? e}`);
		expect(e.code).toMatch(/^[a-z-]+$/);
		expect(e.message.length).toBeGreaterThan(10);
	}
	expect(performance.now() - started).toBeLessThan(CASE_MS);
	if (!table) return;
	expect(table.encoding).toMatch(/^(UTF-8|UTF-16|Windows-1252)/);
	expect(new Set(table.columns).size).toBe(table.columns.length);
	for (const r of table.records) {
		expect(Object.getPrototypeOf(r.values)).toBeNull();
		expect(Number.isInteger(r.line) && r.line >= 1).toBe(true);
		for (const k of Object.keys(r.values)) {
			expect(table.columns).toContain(k);
			expect(typeof r.values[k]).toBe('string');
		}
	}
	for (const p of table.problems) expect(p.message).toMatch(/^line \d+/);
}

function encode(text: string, how: 'utf8' | 'utf8-bom' | 'utf16le' | 'utf16be' | 'utf16le-bom' | 'latin1'): Uint8Array {
	if (how === 'utf8') return new TextEncoder().encode(text);
	if (how === 'utf8-bom') return new TextEncoder().encode('\uFEFF' + text);
	if (how === 'latin1') return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
	const s = how === 'utf16le-bom' ? '\uFEFF' + text : text;
	const out = new Uint8Array(s.length * 2);
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		const [a, b] = how === 'utf16be' ? [c >> 8, c & 0xff] : [c & 0xff, c >> 8];
		out[2 * i] = a;
		out[2 * i + 1] = b;
	}
	return out;
}

const key = fc.oneof(fc.constantFrom(...PROTO_KEYS, 'text', 'label'), fc.string({ maxLength: 8 }));
const cell = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('a,b', '"q"', 'line\r\nbreak', '', 'é€’😀'));
const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }));
const row = fc.dictionary(key, value, { maxKeys: 5 });
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

/** A CSV, JSONL or JSON file with prototype-named keys, joined by a random mix of line ends. */
const textFile = fc.oneof(
	fc.tuple(fc.array(key, { minLength: 1, maxLength: 5 }), fc.array(fc.array(cell, { maxLength: 6 }), { maxLength: 12 }), fc.array(lineEnd, { minLength: 1, maxLength: 4 })).map(([head, rows, ends]) => ({
		name: 'data.csv',
		text: [head, ...rows].map((r, i) => r.map((c) => (/[,"\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',') + ends[i % ends.length]).join('')
	})),
	fc.tuple(fc.array(fc.oneof(row, value), { maxLength: 12 }), fc.array(lineEnd, { minLength: 1, maxLength: 4 })).map(([rows, ends]) => ({
		name: 'data.jsonl',
		text: rows.map((r, i) => JSON.stringify(r) + ends[i % ends.length]).join('')
	})),
	fc.array(fc.oneof(row, value), { maxLength: 12 }).map((rows) => ({ name: 'data.json', text: JSON.stringify(rows) })),
	fc.tuple(fc.string({ maxLength: 6 }), fc.array(row, { maxLength: 8 })).map(([k, rows]) => ({ name: 'data.json', text: JSON.stringify({ [k]: rows, meta: { n: rows.length } }, null, 1) }))
);
const encoding = fc.constantFrom('utf8', 'utf8-bom', 'utf16le', 'utf16be', 'utf16le-bom', 'latin1') as fc.Arbitrary<Parameters<typeof encode>[1]>;

describe('importer fuzz', () => {
	it('random bytes', async () => {
		await fc.assert(
			fc.asyncProperty(fc.constantFrom(...NAMES), fc.uint8Array({ maxLength: 3000 }), async (name, bytes) => check(name, bytes)),
			{ numRuns: 200, seed: 14 }
		);
	});

	it('well-formed files in every encoding, truncated anywhere, with a random byte flipped', async () => {
		await fc.assert(
			fc.asyncProperty(textFile, encoding, fc.double({ min: 0, max: 1, noNaN: true }), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))), async (f, how, cut, flip) => {
				const full = encode(f.text, how);
				await check(f.name, full);
				const bytes = full.slice(0, Math.floor(full.length * cut));
				if (flip && bytes.length) bytes[flip[0] % bytes.length] = flip[1];
				await check(f.name, bytes);
			}),
			{ numRuns: 200, seed: 14 }
		);
	});

	it('deep nesting and huge fields', async () => {
		await fc.assert(
			fc.asyncProperty(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('[', '{"a":'), fc.integer({ min: 0, max: 2_000_000 }), fc.constantFrom(...NAMES), async (depth, open, huge, name) => {
				const close = open === '[' ? ']' : '}';
				const nested = open.repeat(depth) + '1' + close.repeat(depth);
				await check(name, new TextEncoder().encode(`{"text":${nested},"label":"x"}\n[${nested}]\n`));
				const big = 'x'.repeat(huge);
				await check(name, new TextEncoder().encode(name.includes('json') ? `{"text":"${big}","label":"a"}\n` : `text,label\n${big},a\n"${big}`));
			}),
			{ numRuns: 25, seed: 14 }
		);
	});
});
