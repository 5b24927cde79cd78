/**
 * Seeded pseudo-random numbers, shared by the data pipeline (splits, shuffles) and the engine
 * (initialisation, dropout seeds, batch order). The state is one uint32, so it is saved in a
 * checkpoint and restored exactly. Algorithm: mulberry32 (Tommy Ettinger, public domain).
 */

export class Prng {
	constructor(public state: number) {
		this.state = state >>> 0;
	}

	/** Uniform in [0, 1). */
	next(): number {
		let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	/** Integer in [0, n). */
	int(n: number): number {
		return Math.floor(this.next() * n);
	}

	/** Standard normal (Box–Muller). */
	normal(): number {
		const u = 1 - this.next();
		const v = this.next();
		return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
	}

	/** A Fisher–Yates shuffle of a copy of `items`. */
	shuffle<T>(items: readonly T[]): T[] {
		const out = items.slice();
		for (let i = out.length - 1; i > 0; i--) {
			const j = this.int(i + 1);
			[out[i], out[j]] = [out[j], out[i]];
		}
		return out;
	}
}

/** A stable 32-bit seed from any string (FNV-1a). */
export function hashSeed(s: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < s.length; i++) {
		h ^= s.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return h >>> 0;
}
