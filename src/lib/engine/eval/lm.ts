/**
 * Language-modelling metrics from summed token losses, so evaluation can stream batches and add
 * up (nll, tokens) instead of keeping per-token values.
 */

/** exp(mean negative log-likelihood per token), natural log; NaN when there are no tokens. */
export function perplexity(totalNll: number, tokenCount: number): number {
	if (!(tokenCount > 0)) return NaN;
	return Math.exp(totalNll / tokenCount);
}

/** Bits per token: the same mean loss in base 2. */
export function bitsPerToken(totalNll: number, tokenCount: number): number {
	if (!(tokenCount > 0)) return NaN;
	return totalNll / tokenCount / Math.LN2;
}
