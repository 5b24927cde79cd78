/**
 * Generated text made visible: an answer of only whitespace would render as a blank (and, with
 * many newlines, very tall) cell, so its whitespace is drawn as glyphs — ⏎ for a newline, → for a
 * tab, · for a space — as editors do with "show invisibles". Text with words keeps its layout;
 * only its leading and trailing blank lines are marked, so "answer\n\n\n" does not look like "answer".
 */

export interface VisibleText {
	/** What to show. */
	text: string;
	/** The text was empty or only whitespace (shown as glyphs, with a muted marker beside it). */
	blank: boolean;
	/** The marker to show beside a blank text: "(empty)" or "(only whitespace: 3 newlines, 2 spaces)". */
	note: string | null;
}

const GLYPH: Record<string, string> = { '\n': '⏎', '\t': '→', ' ': '·', '\r': '', '\u00a0': '·' };

/** Glyphs drawn for a whitespace-only text before "…" (the note gives the counts). */
export const MOST_GLYPHS = 16;

function glyphs(ws: string): string {
	return [...ws].map((c) => GLYPH[c] ?? '·').join('');
}

function plural(n: number, one: string): string {
	return `${n} ${one}${n === 1 ? '' : 's'}`;
}

export function visibleWhitespace(text: string): VisibleText {
	if (text === '') return { text: '', blank: true, note: '(empty)' };
	if (!text.trim()) {
		const newlines = (text.match(/\n/g) ?? []).length;
		const spaces = (text.match(/[ \u00a0]/g) ?? []).length;
		const tabs = (text.match(/\t/g) ?? []).length;
		const parts = [newlines && plural(newlines, 'newline'), tabs && plural(tabs, 'tab'), spaces && plural(spaces, 'space')].filter(Boolean);
		// A long run of glyphs says no more than the note does: show the first few.
		const shown = [...text.replace(/\r/g, '')];
		const head = glyphs(shown.slice(0, MOST_GLYPHS).join('')) + (shown.length > MOST_GLYPHS ? '…' : '');
		return { text: head, blank: true, note: `(only whitespace: ${parts.join(', ')})` };
	}
	// Leading and trailing newlines would push the words out of a clamped cell: mark them on one line.
	const lead = /^\s*\n/.exec(text)?.[0] ?? '';
	const trail = /\n\s*$/.exec(text)?.[0] ?? '';
	const body = text.slice(lead.length, text.length - trail.length);
	return { text: (lead ? glyphs(lead) : '') + body + (trail ? glyphs(trail) : ''), blank: false, note: null };
}
