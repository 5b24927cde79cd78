/** N-gram counts of a token list, shared by BLEU and ROUGE. Tokens never contain spaces, so a space-joined key is unambiguous. */
export function ngramCounts(tokens: string[], n: number): Map<string, number> {
	const out = new Map<string, number>();
	for (let i = 0; i + n <= tokens.length; i++) {
		const key = tokens.slice(i, i + n).join(' ');
		out.set(key, (out.get(key) ?? 0) + 1);
	}
	return out;
}
