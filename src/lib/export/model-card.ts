/**
 * The model card (README.md) written into every export, after Hugging Face's model card guide
 * (huggingface_hub `ModelCard`, card metadata spec of hub-docs `modelcard.md`): YAML front matter
 * (library_name, base_model, pipeline_tag, tags, model-index results) and sections for the base
 * model, the data, every training setting, the evaluation with its intervals against the stored
 * baselines, the slices audit, intended use and limitations. `usage` is the load code, e.g. the
 * fuller PEFT README lora.ts writes, kept whole.
 */
import { stringify } from 'yaml';
import type { DatasetVersion, Run } from '../shared/types';

export interface ModelCardInput {
	run: Run;
	version?: DatasetVersion | null;
	/** Baseline runs of the same project (majority, prompt-only), compared on the same split. */
	baselines?: Run[];
	/** The checkpoint step exported. */
	step: number;
	kind: 'model' | 'adapter';
	/** Markdown with the load code (without the front matter). */
	usage: string;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The card's YAML front matter as an object (exported for tests). */
export function cardMetadata(input: ModelCardInput): Record<string, unknown> {
	const { run } = input;
	const p = run.config.pretrained;
	const classify = p ? p.objective === 'classification' : run.config.model.head !== 'lm';
	const meta: Record<string, unknown> = {
		library_name: input.kind === 'adapter' ? 'peft' : 'transformers',
		pipeline_tag: classify ? 'text-classification' : 'text-generation',
		tags: ['whetstone', ...(input.kind === 'adapter' || p?.method?.kind === 'lora' ? ['lora'] : []), classify ? 'text-classification' : 'causal-lm']
	};
	if (p) meta.base_model = p.repo;
	else meta.model_type = 'gpt2';
	const ev = run.evaluation;
	if (ev) {
		const metrics: Record<string, unknown>[] = ev.lm
			? [{ type: 'perplexity', value: ev.lm.perplexity, name: 'Perplexity' }]
			: [
					{ type: 'accuracy', value: ev.accuracy, name: 'Accuracy' },
					{ type: 'f1', value: ev.macroF1, name: 'Macro F1', args: { average: 'macro' } }
				];
		meta['model-index'] = [
			{
				name: run.name,
				results: [
					{
						task: { type: classify ? 'text-classification' : 'text-generation' },
						dataset: { name: input.version?.name ?? run.datasetVersionId, type: 'local', split: ev.split, revision: run.datasetHash },
						metrics
					}
				]
			}
		];
	}
	return meta;
}

export function modelCard(input: ModelCardInput): string {
	const { run, version, step } = input;
	const p = run.config.pretrained;
	const lines: string[] = ['---', stringify(cardMetadata(input)).trimEnd(), '---', '', `# ${run.name}`, ''];
	lines.push(
		p
			? `Fine-tuned in Whetstone (in the browser) from [${p.repo}](https://huggingface.co/${p.repo}) at revision \`${p.revision}\`, objective ${p.objective}, method ${p.method?.kind ?? 'full'}, checkpoint step ${step}.`
			: `Trained from scratch in Whetstone (in the browser): a ${run.config.model.nLayer}-layer, ${run.config.model.dModel}-wide transformer exported in GPT-2's layout, checkpoint step ${step}.`,
		''
	);
	lines.push('## Usage', '', input.usage.replace(/^# .*\n+/, '').trim(), '');
	lines.push('## Training data', '');
	if (version) {
		lines.push(
			`- Dataset version: **${version.name}** (\`${version.id}\`), from \`${version.source.fileName}\` (${version.source.format}, ${version.source.bytes} bytes)`,
			`- Rows: ${version.rowCount}; split train ${version.split.sizes.train} / validation ${version.split.sizes.validation} / test ${version.split.sizes.test}`,
			`- Content hash (SHA-256): \`${version.contentHash}\``
		);
		if (version.labels.length) lines.push(`- Labels: ${version.labels.map((l, i) => `${l} (${version.labelCounts[i] ?? 0})`).join(', ')}`);
	} else lines.push(`- Dataset version \`${run.datasetVersionId}\`, content hash \`${run.datasetHash}\``);
	lines.push('', '## Training settings', '', '| setting | value |', '| --- | --- |');
	for (const [k, v] of Object.entries(run.config.train)) lines.push(`| train.${k} | ${fmt(v)} |`);
	if (p) {
		lines.push(`| pretrained.contextLength | ${p.contextLength} |`, `| pretrained.method | ${fmt(p.method ?? { kind: 'full' })} |`);
		if (p.dropout) lines.push(`| pretrained.dropout | ${fmt(p.dropout)} |`);
	} else for (const [k, v] of Object.entries(run.config.model)) lines.push(`| model.${k} | ${fmt(v)} |`);
	if (run.backend) lines.push(`| backend | ${fmt(run.backend)} |`);
	lines.push(`| steps | ${run.step} of ${run.totalSteps} |`, '');
	lines.push('## Evaluation', '');
	const ev = run.evaluation;
	if (!ev) lines.push('This run has not been scored on its test split yet; evaluate it in the studio before sharing.', '');
	else {
		const iv = ev.intervals;
		const withIv = (x: number, i?: { low: number; high: number }) => (i ? `${pct(x)} [${pct(i.low)}, ${pct(i.high)}]` : pct(x));
		lines.push(`Scored on the ${ev.split} split (${ev.count} examples) at step ${ev.step}${iv && ev.bootstrap ? `; intervals: ${Math.round((1 - ev.bootstrap.alpha) * 100)}% percentile bootstrap, ${ev.bootstrap.resamples} resamples` : ''}.`, '');
		lines.push('| model | accuracy | macro F1 |', '| --- | --- | --- |');
		lines.push(`| this model | ${withIv(ev.accuracy, iv?.accuracy)} | ${withIv(ev.macroF1, iv?.macroF1)} |`);
		for (const b of input.baselines ?? [])
			if (b.evaluation && b.evaluation.split === ev.split)
				lines.push(`| baseline: ${b.baseline?.description ?? b.name} | ${withIv(b.evaluation.accuracy, b.evaluation.intervals?.accuracy)} | ${withIv(b.evaluation.macroF1, b.evaluation.intervals?.macroF1)} |`);
		if (!input.baselines?.some((b) => b.evaluation)) lines.push('', 'No baseline was scored in this project.');
		if (ev.lm) lines.push('', `Perplexity ${ev.lm.perplexity.toFixed(3)}, next-token accuracy ${pct(ev.lm.tokenAccuracy)}.`);
		lines.push('', '### Slices audit', '');
		if (!ev.slices?.length) lines.push('No metadata columns were sliced for this dataset.');
		for (const c of ev.slices ?? []) {
			if (c.skipped) {
				lines.push(`- ${c.column}: not sliced (${c.skipped})`);
				continue;
			}
			lines.push(`- ${c.column}: gap ${c.gap === null ? 'n/a' : pct(c.gap)}${c.notable ? ' (notable: the best and worst intervals do not overlap)' : ''}`);
			for (const s of c.slices) lines.push(`  - ${s.value}: ${pct(s.accuracy)} [${pct(s.low)}, ${pct(s.high)}], n=${s.count}${s.small ? ' (small)' : ''}`);
		}
		lines.push('');
	}
	lines.push(
		'## Intended use',
		'',
		`A prototype for ${p?.objective === 'classification' || (!p && run.config.model.head !== 'lm') ? `classifying text into ${ev?.labels.join(', ') ?? 'the dataset\'s labels'}` : 'generating text like the training data'}, trained on one dataset in a browser tab. Check it on your own data before relying on it; rerun it at scale with the recipe bundle.`,
		'',
		'## Limitations',
		'',
		'- Trained on a small dataset with small batches in one browser; the scores above hold for data like the test split only.',
		'- Inputs longer than the training context are truncated.',
		'- Biases of the data and of the base model carry over; the slices audit above covers only the metadata columns the dataset had.',
		''
	);
	return lines.join('\n');
}

function fmt(v: unknown): string {
	return (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)).replace(/\|/g, '\\|');
}
