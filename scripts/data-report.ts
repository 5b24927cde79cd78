/**
 * `npm run data:report -- <file> [--text <column>] [--label <column>] [--kind classification|text|pairs]
 *   [--near 0.8] [--json]`: the data worker's own import, cleaning and split code (src/lib/data/report.ts)
 * run in Node on a file. Prints rows read, columns and the detected kind, problems with line numbers,
 * exact-duplicate groups, conflicting duplicates, near-duplicate clusters, PII per kind and
 * train/held-out leakage after the default split, with 1-based data row numbers.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { dataReport, formatDataReport, type DataReportOptions } from '../src/lib/data/report';

async function main(argv: string[]): Promise<number> {
	const args = [...argv];
	const flag = (name: string) => {
		const i = args.indexOf(name);
		if (i < 0) return undefined;
		const v = args[i + 1];
		if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value.`);
		args.splice(i, 2);
		return v;
	};
	const json = args.includes('--json');
	if (json) args.splice(args.indexOf('--json'), 1);
	const opts: DataReportOptions = { text: flag('--text'), label: flag('--label'), kind: flag('--kind') as DataReportOptions['kind'] };
	const near = flag('--near');
	if (near !== undefined) {
		opts.near = Number(near);
		if (!(opts.near > 0 && opts.near <= 1)) throw new Error(`--near must be a Jaccard threshold in (0, 1], not ${near}.`);
	}
	const file = args.find((a) => !a.startsWith('--'));
	if (!file) {
		console.error('usage: npm run data:report -- <file> [--text <column>] [--label <column>] [--kind classification|text|pairs] [--near 0.8] [--json]');
		return 2;
	}
	const report = await dataReport(basename(file), readFileSync(file), opts);
	console.log(json ? JSON.stringify(report, null, 2) : formatDataReport(report));
	return 0;
}

main(process.argv.slice(2)).then(
	(code) => (process.exitCode = code),
	(e) => {
		console.error(`data:report: ${(e as Error).message}`);
		process.exitCode = 1;
	}
);
