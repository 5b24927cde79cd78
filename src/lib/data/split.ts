/**
 * Stratified train/validation/test split: each class is shuffled on its own and cut by the
 * configured fractions, so every split has the class balance of the whole (as in scikit-learn's
 * `train_test_split(stratify=…)`). Reproducible from the seed alone.
 */
import type { SplitConfig } from '../shared/config';
import { SPLIT_CODE, SPLITS, type SplitName } from '../shared/types';
import { Prng, hashSeed } from '../shared/prng';
import { UserError } from '../shared/errors';

/** How many of a class of `n` go to test and validation. */
function classQuota(n: number, cfg: SplitConfig): { test: number; validation: number } {
	// A class with 3+ examples gets at least one in each held-out split the user asked for, so
	// per-class metrics exist; train always keeps at least one so the model sees every class.
	const floor = (f: number) => (n >= 3 && f > 0 ? 1 : 0);
	let test = Math.max(floor(cfg.test), Math.round(n * cfg.test));
	let validation = Math.max(floor(cfg.validation), Math.round(n * cfg.validation));
	while (test + validation > n - 1) {
		if (validation > floor(cfg.validation) && validation >= test) validation--;
		else if (test > floor(cfg.test)) test--;
		else validation--;
	}
	return { test, validation };
}

/**
 * One split code (SPLIT_CODE: 0 train, 1 validation, 2 test) per row, given each row's class.
 * The per-class generator is seeded from the split seed and the class index, so a class's split
 * does not depend on how many rows other classes have.
 */
export function stratifiedSplit(labels: ArrayLike<number>, cfg: SplitConfig): Uint8Array {
	const ok = (f: number) => Number.isFinite(f) && f >= 0 && f < 1;
	if (!ok(cfg.validation) || !ok(cfg.test) || cfg.validation + cfg.test >= 1)
		throw new UserError(
			'invalid-config',
			`Validation (${cfg.validation}) and test (${cfg.test}) fractions must each be between 0 and 1 and leave some rows for training.`
		);

	const byClass = new Map<number, number[]>();
	for (let i = 0; i < labels.length; i++) {
		const c = labels[i];
		let list = byClass.get(c);
		if (!list) byClass.set(c, (list = []));
		list.push(i);
	}

	const codes = new Uint8Array(labels.length); // 0 = train
	for (const [c, indices] of byClass) {
		const order = new Prng((cfg.seed ^ hashSeed(String(c))) >>> 0).shuffle(indices);
		const { test, validation } = classQuota(indices.length, cfg);
		for (let k = 0; k < test; k++) codes[order[k]] = SPLIT_CODE.test;
		for (let k = test; k < test + validation; k++) codes[order[k]] = SPLIT_CODE.validation;
	}
	return codes;
}

export function splitSizes(codes: ArrayLike<number>): Record<SplitName, number> {
	const counts = [0, 0, 0];
	for (let i = 0; i < codes.length; i++) counts[codes[i]]++;
	const out = {} as Record<SplitName, number>;
	for (const s of SPLITS) out[s] = counts[SPLIT_CODE[s]];
	return out;
}
