/**
 * The Porter stemmer (Porter 1980, "An algorithm for suffix stripping") exactly as nltk 3.8
 * `PorterStemmer()` runs it in its default NLTK_EXTENSIONS mode, which rouge-score 0.1.2 uses for
 * `use_stemmer=True`. NLTK's departures from the paper are kept on purpose (irregular forms,
 * 'ies'/'ied' on 4-letter words, y→i only after a consonant, 'alli' before 'bli', 'fulli',
 * 'logi', words of ≤ 2 letters untouched), since matching the reference is the point.
 */

const IRREGULAR = new Map<string, string>([
	['sky', 'sky'],
	['skies', 'sky'],
	['dying', 'die'],
	['lying', 'lie'],
	['tying', 'tie'],
	['news', 'news'],
	['innings', 'inning'],
	['inning', 'inning'],
	['outings', 'outing'],
	['outing', 'outing'],
	['cannings', 'canning'],
	['canning', 'canning'],
	['howe', 'howe'],
	['proceed', 'proceed'],
	['exceed', 'exceed'],
	['succeed', 'succeed']
]);

type Condition = ((stem: string) => boolean) | null;
/** [suffix, replacement, condition]; the suffix '*d' means "ends in a double consonant". */
type Rule = [string, string, Condition];

function isConsonant(word: string, i: number): boolean {
	const ch = word[i];
	if ('aeiou'.includes(ch)) return false;
	if (ch === 'y') return i === 0 ? true : !isConsonant(word, i - 1);
	return true;
}

/** m in [C](VC)^m[V]: the number of vowel→consonant transitions. */
function measure(stem: string): number {
	let m = 0;
	for (let i = 1; i < stem.length; i++) if (!isConsonant(stem, i - 1) && isConsonant(stem, i)) m++;
	return m;
}

const positiveMeasure = (stem: string) => measure(stem) > 0;
const measureAbove1 = (stem: string) => measure(stem) > 1;

function containsVowel(stem: string): boolean {
	for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
	return false;
}

function endsDoubleConsonant(word: string): boolean {
	const n = word.length;
	return n >= 2 && word[n - 1] === word[n - 2] && isConsonant(word, n - 1);
}

/** *o: ends consonant-vowel-consonant, the last not w/x/y; NLTK also accepts a 2-letter vowel-consonant word. */
function endsCvc(word: string): boolean {
	const n = word.length;
	return (
		(n >= 3 &&
			isConsonant(word, n - 3) &&
			!isConsonant(word, n - 2) &&
			isConsonant(word, n - 1) &&
			!'wxy'.includes(word[n - 1])) ||
		(n === 2 && !isConsonant(word, 0) && isConsonant(word, 1))
	);
}

/** Applies the first rule whose suffix matches; if its condition fails, no later rule is tried. */
function applyRules(word: string, rules: Rule[]): string {
	for (const [suffix, replacement, condition] of rules) {
		if (suffix === '*d' && endsDoubleConsonant(word)) {
			const stem = word.slice(0, -2);
			return !condition || condition(stem) ? stem + replacement : word;
		}
		if (word.endsWith(suffix)) {
			const stem = word.slice(0, word.length - suffix.length);
			return !condition || condition(stem) ? stem + replacement : word;
		}
	}
	return word;
}

function step1a(word: string): string {
	if (word.endsWith('ies') && word.length === 4) return word.slice(0, -3) + 'ie';
	return applyRules(word, [
		['sses', 'ss', null],
		['ies', 'i', null],
		['ss', 'ss', null],
		['s', '', null]
	]);
}

function step1b(word: string): string {
	if (word.endsWith('ied')) return word.slice(0, -3) + (word.length === 4 ? 'ie' : 'i');
	if (word.endsWith('eed')) {
		const stem = word.slice(0, -3);
		return measure(stem) > 0 ? stem + 'ee' : word;
	}
	let stem: string | null = null;
	for (const suffix of ['ed', 'ing']) {
		if (word.endsWith(suffix) && containsVowel(word.slice(0, -suffix.length))) {
			stem = word.slice(0, -suffix.length);
			break;
		}
	}
	if (stem === null) return word;
	const last = stem[stem.length - 1];
	return applyRules(stem, [
		['at', 'ate', null],
		['bl', 'ble', null],
		['iz', 'ize', null],
		['*d', last, () => !'lsz'.includes(last)],
		['', 'e', (s) => measure(s) === 1 && endsCvc(s)]
	]);
}

function step1c(word: string): string {
	return applyRules(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]]);
}

function step2(word: string): string {
	if (word.endsWith('alli') && positiveMeasure(word.slice(0, -4))) return step2(word.slice(0, -4) + 'al');
	return applyRules(word, [
		['ational', 'ate', positiveMeasure],
		['tional', 'tion', positiveMeasure],
		['enci', 'ence', positiveMeasure],
		['anci', 'ance', positiveMeasure],
		['izer', 'ize', positiveMeasure],
		['bli', 'ble', positiveMeasure],
		['alli', 'al', positiveMeasure],
		['entli', 'ent', positiveMeasure],
		['eli', 'e', positiveMeasure],
		['ousli', 'ous', positiveMeasure],
		['ization', 'ize', positiveMeasure],
		['ation', 'ate', positiveMeasure],
		['ator', 'ate', positiveMeasure],
		['alism', 'al', positiveMeasure],
		['iveness', 'ive', positiveMeasure],
		['fulness', 'ful', positiveMeasure],
		['ousness', 'ous', positiveMeasure],
		['aliti', 'al', positiveMeasure],
		['iviti', 'ive', positiveMeasure],
		['biliti', 'ble', positiveMeasure],
		['fulli', 'ful', positiveMeasure],
		// The 'l' stays with the stem for the measure, so 'geologi' works like 'archaeologi'.
		['logi', 'log', () => positiveMeasure(word.slice(0, -3))]
	]);
}

function step3(word: string): string {
	return applyRules(word, [
		['icate', 'ic', positiveMeasure],
		['ative', '', positiveMeasure],
		['alize', 'al', positiveMeasure],
		['iciti', 'ic', positiveMeasure],
		['ical', 'ic', positiveMeasure],
		['ful', '', positiveMeasure],
		['ness', '', positiveMeasure]
	]);
}

function step4(word: string): string {
	const rules: Rule[] = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent'].map(
		(s): Rule => [s, '', measureAbove1]
	);
	rules.push(['ion', '', (stem) => measure(stem) > 1 && /[st]$/.test(stem)]);
	for (const s of ['ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize']) rules.push([s, '', measureAbove1]);
	return applyRules(word, rules);
}

function step5a(word: string): string {
	// Both E rules are tried, unlike the first-match rule lists.
	if (!word.endsWith('e')) return word;
	const stem = word.slice(0, -1);
	const m = measure(stem);
	return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : word;
}

function step5b(word: string): string {
	return applyRules(word, [['ll', 'l', () => measure(word.slice(0, -1)) > 1]]);
}

/** Stems one word; the word is lower-cased first, as nltk does by default. */
export function porterStem(word: string): string {
	const w = word.toLowerCase();
	const irregular = IRREGULAR.get(word);
	if (irregular !== undefined) return irregular;
	if (word.length <= 2) return w;
	return [step1a, step1b, step1c, step2, step3, step4, step5a, step5b].reduce((s, step) => step(s), w);
}
