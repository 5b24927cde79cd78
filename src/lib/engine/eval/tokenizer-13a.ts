/**
 * The mteval-v13a tokenizer as sacrebleu 2.6.0 implements it (`Tokenizer13a` followed by
 * `TokenizerRegexp`): unescape a few HTML entities, split ASCII punctuation off words, split
 * periods and commas unless they sit between digits, and a dash after a digit. Non-ASCII
 * punctuation («, —, 。) stays attached, as in the reference.
 */
import { pySplit, pyStrip } from './pystr';

const ENTITIES: [string, string][] = [
	['&quot;', '"'],
	['&amp;', '&'],
	['&lt;', '<'],
	['&gt;', '>']
];

const RULES: [RegExp, string][] = [
	// { | } ~  [ \ ] ^ _ `  space ! " # $ % &  ( ) * +  : ; < = > ? @  /
	[/([\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f])/g, ' $1 '],
	// period and comma unless preceded by a digit
	[/([^0-9])([.,])/g, '$1 $2 '],
	// period and comma unless followed by a digit
	[/([.,])([^0-9])/g, ' $1 $2'],
	// dash after a digit
	[/([0-9])(-)/g, '$1 $2 ']
];

export function tokenize13a(line: string): string {
	let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
	// Sequential, so "&amp;lt;" becomes "<" exactly as in the reference.
	for (const [entity, char] of ENTITIES) s = s.replaceAll(entity, char);
	s = ` ${s} `;
	for (const [re, repl] of RULES) s = s.replace(re, repl);
	return pySplit(pyStrip(s)).join(' ');
}
