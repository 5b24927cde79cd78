/**
 * Floating-point summation in the order the reference libraries use, so the metrics agree with
 * scikit-learn (numpy) and nltk (Python) to the last bit where the inputs allow it, not merely to
 * 1e-12. numpy 1.24 `np.add.reduce` on a contiguous float64 array: pairwise summation with an
 * 8-way unrolled base case of at most 128 elements (`pairwise_sum_DOUBLE` in loops_utils.h.src).
 * Python `math.fsum`: Shewchuk's exact partials with round-half-even (mathmodule.c `math_fsum`).
 */

const PW_BLOCKSIZE = 128;

function pairwise(a: ArrayLike<number>, start: number, n: number): number {
	if (n < 8) {
		let res = 0;
		for (let i = 0; i < n; i++) res += a[start + i];
		return res;
	}
	if (n <= PW_BLOCKSIZE) {
		const r = [0, 0, 0, 0, 0, 0, 0, 0];
		for (let j = 0; j < 8; j++) r[j] = a[start + j];
		let i = 8;
		for (; i < n - (n % 8); i += 8) {
			for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
		}
		// prettier-ignore
		let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++) res += a[start + i];
		return res;
	}
	// Split in two halves whose first length is a multiple of the unroll factor.
	let n2 = Math.floor(n / 2);
	n2 -= n2 % 8;
	return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2);
}

/** `np.sum` of a 1-D float64 array. */
export function npSum(a: ArrayLike<number>): number {
	return pairwise(a, 0, a.length);
}

/** `np.mean`: the pairwise sum divided by the count (NaN when empty, as numpy). */
export function npMean(a: ArrayLike<number>): number {
	return npSum(a) / a.length;
}

/** `np.average(a, weights=w)`: Σ a·w / Σ w, both sums pairwise. */
export function npAverage(a: ArrayLike<number>, weights: ArrayLike<number>): number {
	const products = new Float64Array(a.length);
	for (let i = 0; i < a.length; i++) products[i] = a[i] * weights[i];
	return npSum(products) / npSum(weights);
}

/** Python's `math.fsum` for finite inputs: the correctly rounded sum. */
export function fsum(values: Iterable<number>): number {
	const partials: number[] = [];
	for (let x of values) {
		let i = 0;
		for (let y of partials) {
			if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
			const hi = x + y;
			const lo = y - (hi - x);
			if (lo !== 0) partials[i++] = lo;
			x = hi;
		}
		partials.length = i;
		partials.push(x);
	}
	return roundPartials(partials);
}

function roundPartials(partials: number[]): number {
	let n = partials.length;
	if (n === 0) return 0;
	let hi = partials[--n];
	let lo = 0;
	while (n > 0) {
		const x = hi;
		const y = partials[--n];
		hi = x + y;
		lo = y - (hi - x);
		if (lo !== 0) break;
	}
	// Half-way case: the remaining partials decide which way the last bit rounds.
	if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
		const y = lo * 2;
		const x = hi + y;
		if (y === x - hi) hi = x;
	}
	return hi;
}
