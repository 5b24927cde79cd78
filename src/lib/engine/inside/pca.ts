/**
 * Principal component analysis for drawing representations in two dimensions (Pearson 1901;
 * Jolliffe, "Principal Component Analysis", 2002): centre the rows, form the covariance matrix
 * (d × d) or, when there are fewer rows than dimensions, the Gram matrix (n × n), whose leading
 * eigenvectors give the same projections, and find its leading eigenvectors by power iteration
 * with deflation (Golub & Van Loan, "Matrix Computations", §7.3). Plain arrays in float64, no
 * tensors: a few hundred pooled vectors of a small model take milliseconds on the CPU.
 */

export interface PcaResult {
	/** (n, k) row-major: each row's coordinates on the components. */
	projection: Float64Array;
	/** (k, d) row-major: unit-length principal directions, sign fixed so the largest entry is positive. */
	components: Float64Array;
	/** The covariance's eigenvalues (variance along each component, divided by n − 1). */
	variances: number[];
	/** Each component's share of the total variance. */
	explained: number[];
	n: number;
	d: number;
	k: number;
}

/** x·y over `len` entries starting at the given offsets. */
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
	let s = 0;
	for (let i = 0; i < len; i++) s += a[ao + i] * b[bo + i];
	return s;
}

/**
 * Leading `k` eigenpairs of the symmetric positive semi-definite (m, m) matrix `s`, by power
 * iteration, deflating each found pair before the next. Iterates until the vector moves less
 * than `tol` or `maxIter` is reached.
 */
export function topEigen(s: Float64Array, m: number, k: number, maxIter = 1000, tol = 1e-12): { values: number[]; vectors: Float64Array } {
	const a = Float64Array.from(s);
	const vectors = new Float64Array(k * m);
	const values: number[] = [];
	for (let c = 0; c < k; c++) {
		// A start vector not orthogonal to any eigenvector in general: deterministic, uneven entries.
		let v = new Float64Array(m);
		for (let i = 0; i < m; i++) v[i] = 1 + ((i * 7919 + c * 104729) % 97) / 97;
		let norm = Math.sqrt(dot(v, 0, v, 0, m));
		for (let i = 0; i < m; i++) v[i] /= norm;
		let lambda = 0;
		for (let it = 0; it < maxIter; it++) {
			const w = new Float64Array(m);
			for (let i = 0; i < m; i++) w[i] = dot(a, i * m, v, 0, m);
			norm = Math.sqrt(dot(w, 0, w, 0, m));
			if (norm === 0) {
				lambda = 0;
				break;
			}
			for (let i = 0; i < m; i++) w[i] /= norm;
			let moved = 0;
			for (let i = 0; i < m; i++) moved = Math.max(moved, Math.abs(w[i] - v[i]));
			v = w;
			lambda = norm;
			if (moved < tol) break;
		}
		// Rayleigh quotient: the eigenvalue, exact for the converged vector.
		const av = new Float64Array(m);
		for (let i = 0; i < m; i++) av[i] = dot(a, i * m, v, 0, m);
		lambda = Math.max(0, dot(v, 0, av, 0, m));
		values.push(lambda);
		vectors.set(v, c * m);
		// Deflate: A ← A − λ v vᵀ.
		for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[i * m + j] -= lambda * v[i] * v[j];
	}
	return { values, vectors };
}

/** Project the (n, d) row-major `x` onto its first `k` principal components (k ≤ min(n, d)). */
export function pca(x: ArrayLike<number>, n: number, d: number, k = 2): PcaResult {
	if (x.length !== n * d) throw new Error(`pca: ${x.length} values is not ${n} rows of ${d}.`);
	if (n < 2) throw new Error('pca needs at least two rows.');
	k = Math.min(k, n, d);
	const c = new Float64Array(n * d);
	for (let j = 0; j < d; j++) {
		let mean = 0;
		for (let i = 0; i < n; i++) mean += x[i * d + j];
		mean /= n;
		for (let i = 0; i < n; i++) c[i * d + j] = x[i * d + j] - mean;
	}
	const components = new Float64Array(k * d);
	let values: number[];
	if (d <= n) {
		// Covariance Xᵀ X / (n − 1), (d, d): its eigenvectors are the directions.
		const cov = new Float64Array(d * d);
		for (let i = 0; i < n; i++)
			for (let p = 0; p < d; p++) {
				const xp = c[i * d + p];
				if (xp === 0) continue;
				for (let q = p; q < d; q++) cov[p * d + q] += xp * c[i * d + q];
			}
		for (let p = 0; p < d; p++)
			for (let q = p; q < d; q++) {
				cov[p * d + q] /= n - 1;
				cov[q * d + p] = cov[p * d + q];
			}
		const e = topEigen(cov, d, k);
		values = e.values;
		components.set(e.vectors);
	} else {
		// Gram X Xᵀ / (n − 1), (n, n): the same eigenvalues; direction = Xᵀ u / ‖Xᵀ u‖.
		const gram = new Float64Array(n * n);
		for (let i = 0; i < n; i++)
			for (let j = i; j < n; j++) {
				const g = dot(c, i * d, c, j * d, d) / (n - 1);
				gram[i * n + j] = g;
				gram[j * n + i] = g;
			}
		const e = topEigen(gram, n, k);
		values = e.values;
		for (let m = 0; m < k; m++) {
			const dir = new Float64Array(d);
			for (let i = 0; i < n; i++) {
				const u = e.vectors[m * n + i];
				for (let j = 0; j < d; j++) dir[j] += u * c[i * d + j];
			}
			const norm = Math.sqrt(dot(dir, 0, dir, 0, d)) || 1;
			for (let j = 0; j < d; j++) components[m * d + j] = dir[j] / norm;
		}
	}
	// An eigenvector's sign is arbitrary: fix it so the same data always draws the same way round.
	for (let m = 0; m < k; m++) {
		let big = 0;
		for (let j = 1; j < d; j++) if (Math.abs(components[m * d + j]) > Math.abs(components[m * d + big])) big = j;
		if (components[m * d + big] < 0) for (let j = 0; j < d; j++) components[m * d + j] *= -1;
	}
	const projection = new Float64Array(n * k);
	for (let i = 0; i < n; i++) for (let m = 0; m < k; m++) projection[i * k + m] = dot(c, i * d, components, m * d, d);
	let total = 0;
	for (let i = 0; i < n * d; i++) total += c[i] * c[i];
	total /= n - 1;
	return { projection, components, variances: values, explained: values.map((v) => (total > 0 ? v / total : 0)), n, d, k };
}
