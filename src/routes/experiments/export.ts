/** A study as JSON or CSV (one row per trial: number, state, value, pruned step, run, each parameter), and a download helper. */
import type { StudyRecord } from '$lib/experiments/record';

export function studyJson(rec: StudyRecord): string {
	return JSON.stringify(rec, null, 2);
}

const csvCell = (v: unknown) => {
	let s = v === undefined || v === null ? '' : String(v);
	// A typed choice such as "=1+1" would run as a formula in a spreadsheet (OWASP CSV injection): keep it text.
	if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
	return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function studyCsv(rec: StudyRecord): string {
	const params = Object.keys(rec.config.space);
	const head = ['number', 'state', 'value', 'pruned_at_step', 'run_id', ...params];
	const lines = rec.trials.map((t) => [t.number, t.state, t.value, t.prunedAtStep, t.runId, ...params.map((p) => t.params[p])].map(csvCell).join(','));
	return [head.join(','), ...lines].join('\n') + '\n';
}

export function download(text: string, fileName: string, type: string): void {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
	a.click();
	setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
