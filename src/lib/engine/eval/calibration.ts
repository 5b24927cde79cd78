/**
 * How good the predicted probabilities are, beyond the argmax: log loss, Brier score and the
 * expected calibration error with per-bin data for a reliability diagram.
 * Log loss matches sklearn.metrics.log_loss 1.2.1 (eps='auto' = float64 eps: clip every
 * probability to [eps, 1−eps], renormalise each row, mean −ln p(true class)); Brier matches
 * `brier_score_loss` 1.2.1. ECE is the common equal-width, max-probability definition
 * (Guo et al. 2017, "On Calibration of Modern Neural Networks"), bins (e_b, e_{b+1}] with
 * e_j = j / nBins and a confidence of exactly 0 in the first bin, as the fixture README's numpy
 * reference.
 */
import { npMean, npSum } from './numeric';

export type ProbabilityRows = ReadonlyArray<ArrayLike<number>>;

export interface CalibrationBin {
	lower: number;
	upper: number;
	count: number;
	/** Fraction of the bin's predictions that are correct; null for an empty bin. */
	accuracy: number | null;
	/** Mean max-probability in the bin; null for an empty bin. */
	confidence: number | null;
}

export interface Calibration {
	ece: number;
	bins: CalibrationBin[];
}

const FLOAT64_EPS = Number.EPSILON;

function checkRows(yTrue: ArrayLike<number>, yProba: ProbabilityRows): void {
	if (yTrue.length !== yProba.length) {
		throw new RangeError(`y_true has ${yTrue.length} entries but y_proba has ${yProba.length} rows`);
	}
	yProba.forEach((row, i) => {
		if (!(yTrue[i] >= 0 && yTrue[i] < row.length)) throw new RangeError(`class id ${yTrue[i]} at ${i} has no column`);
	});
}

export function logLoss(yTrue: ArrayLike<number>, yProba: ProbabilityRows, eps = FLOAT64_EPS): number {
	checkRows(yTrue, yProba);
	const losses = yProba.map((row, i) => {
		const clipped = Array.from(row, (p) => Math.min(Math.max(p, eps), 1 - eps));
		return -Math.log(clipped[yTrue[i]] / npSum(clipped));
	});
	return npMean(losses);
}

/** Mean squared difference between the positive-class probability and the 0/1 outcome. */
export function brierScore(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, posLabel = 1): number {
	if (yTrue.length !== yScore.length) throw new RangeError('y_true and y_score differ in length');
	const sq = Array.from(yScore, (p, i) => {
		const d = (yTrue[i] === posLabel ? 1 : 0) - p;
		return d * d;
	});
	return npMean(sq);
}

/** First index of the row maximum, as `np.argmax`. */
function argmax(row: ArrayLike<number>): number {
	let best = 0;
	for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
	return best;
}

/** `searchsorted(edges, conf, side='left') - 1`, clipped to a valid bin. */
function binOf(conf: number, edges: number[]): number {
	let below = 0;
	while (below < edges.length && edges[below] < conf) below++;
	return Math.min(Math.max(below - 1, 0), edges.length - 2);
}

export function expectedCalibrationError(yTrue: ArrayLike<number>, yProba: ProbabilityRows, nBins = 10): Calibration {
	checkRows(yTrue, yProba);
	const edges = Array.from({ length: nBins + 1 }, (_, j) => j / nBins);
	const members = edges.slice(1).map(() => ({ conf: [] as number[], correct: [] as number[] }));
	yProba.forEach((row, i) => {
		const pred = argmax(row);
		const conf = row[pred];
		const bin = members[binOf(conf, edges)];
		bin.conf.push(conf);
		bin.correct.push(pred === yTrue[i] ? 1 : 0);
	});
	const n = yProba.length;
	let ece = 0;
	const bins = members.map((m, b): CalibrationBin => {
		const count = m.conf.length;
		if (count === 0) return { lower: edges[b], upper: edges[b + 1], count, accuracy: null, confidence: null };
		const accuracy = npMean(m.correct);
		const confidence = npMean(m.conf);
		ece += (count / n) * Math.abs(accuracy - confidence);
		return { lower: edges[b], upper: edges[b + 1], count, accuracy, confidence };
	});
	return { ece, bins };
}
