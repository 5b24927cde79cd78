/**
 * Opening a reproducibility JSON (recipe.ts `reproducibility`, format 'whetstone-reproducibility'
 * v1) in another browser: the file is checked, the dataset version it names is looked up among
 * this browser's versions by its content hash (SHA-256 of the rows, so the same file imported
 * again matches whatever its id here), and the run's settings come back as a config for the Train
 * form: the run config with its seed, the base model at its revision. Settings that pointed at
 * things only the other browser has (a starting checkpoint of another run) are dropped and said.
 */
import { defaultRunConfig, type RunConfig } from '../shared/config';
import { UserError } from '../shared/errors';
import type { DatasetVersion } from '../shared/types';

export const REPRO_FORMAT = 'whetstone-reproducibility';

export interface ReproBundle {
	format: typeof REPRO_FORMAT;
	formatVersion: number;
	run: { name: string; step?: number; status?: string };
	config: RunConfig;
	dataset: { versionId: string; contentHash: string; name?: string; rows?: number; labels?: string[]; source?: { fileName?: string; format?: string; bytes?: number } };
	baseModel: { repo: string; revision: string; modelType?: string } | null;
	seed: number;
	metrics?: { test?: { accuracy?: number; macroF1?: number; lm?: { perplexity: number } | null } | null };
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The bundle in `text`, checked; a named error says what is wrong with a file that is not one. */
export function parseReproducibility(text: string): ReproBundle {
	let j: unknown;
	try {
		j = JSON.parse(text);
	} catch {
		throw new UserError('parse-error', 'That file is not JSON. Choose the reproducibility JSON the studio downloaded (…-reproducibility.json).');
	}
	if (!isObj(j) || j.format !== REPRO_FORMAT)
		throw new UserError('parse-error', "That JSON is not a Whetstone reproducibility record (its 'format' is not 'whetstone-reproducibility'). Choose the file from Evaluate's Reproducibility JSON export.");
	if (typeof j.formatVersion !== 'number' || j.formatVersion > 1)
		throw new UserError('parse-error', `This record has format version ${String(j.formatVersion)}; this studio reads version 1. Open it in a newer studio.`);
	const c = j.config;
	if (!isObj(c) || !isObj(c.train) || !isObj(c.model)) throw new UserError('parse-error', 'This record has no run config (config.train, config.model); it cannot recreate the run.');
	const d = j.dataset;
	if (!isObj(d) || typeof d.contentHash !== 'string' || !d.contentHash) throw new UserError('parse-error', 'This record names no dataset content hash, so the data it was trained on cannot be found.');
	const p = c.pretrained;
	if (isObj(p) && (typeof p.repo !== 'string' || typeof p.revision !== 'string')) throw new UserError('parse-error', 'This record names a base model without a repo and revision; it cannot recreate the run.');
	return j as unknown as ReproBundle;
}

/** This browser's dataset version with the bundle's content hash (the same id first), or null. */
export function matchDatasetVersion(bundle: ReproBundle, versions: DatasetVersion[]): DatasetVersion | null {
	const same = versions.filter((v) => v.contentHash === bundle.dataset.contentHash);
	return same.find((v) => v.id === bundle.dataset.versionId) ?? same[0] ?? null;
}

/** What to tell a person whose browser lacks the bundle's dataset. */
export function missingDatasetMessage(bundle: ReproBundle): string {
	const d = bundle.dataset;
	const what = [d.name ? `'${d.name}'` : null, d.rows !== undefined ? `${d.rows} rows` : null, `content hash ${d.contentHash.slice(0, 12)}…`].filter(Boolean).join(', ');
	const from = d.source?.fileName ? `Import ${d.source.fileName} on the Data screen with the same columns and split` : 'Import the same data file on the Data screen with the same columns and split';
	return `The dataset this run was trained on (${what}) is not in this browser. ${from}; a version with the same content hash is found by its hash. Then open this record again.`;
}

export interface ReproImport {
	config: RunConfig;
	version: DatasetVersion;
	/** Settings of the record that did not carry over, for the person to read. */
	notes: string[];
}

/**
 * The Train form's config for the bundle, over today's defaults (fields a newer studio added keep
 * their defaults), and the dataset version it trains on. Throws a 'not-found' UserError naming the
 * data when no version here has the bundle's content hash.
 */
export function importReproducibility(bundle: ReproBundle, versions: DatasetVersion[]): ReproImport {
	const version = matchDatasetVersion(bundle, versions);
	if (!version) throw new UserError('not-found', missingDatasetMessage(bundle));
	const d = defaultRunConfig(version.labels.length || 2);
	const c = bundle.config;
	const config: RunConfig = {
		model: { ...d.model, ...c.model },
		tokenizer: { ...d.tokenizer, ...(c.tokenizer ?? {}) },
		train: { ...d.train, ...c.train, seed: bundle.seed ?? c.train.seed }
	};
	const notes: string[] = [];
	if (c.pretrained) {
		const { init, ...p } = c.pretrained;
		config.pretrained = structuredClone(p);
		if (init) notes.push(`The run started from a checkpoint of another run (${init.runId}, step ${init.step}), which exists only in the browser it came from; this one starts from ${p.repo} at ${p.revision.slice(0, 7)}.`);
	}
	if (bundle.dataset.labels && version.labels.join('\n') !== bundle.dataset.labels.join('\n')) notes.push(`The labels differ from the record's (${bundle.dataset.labels.join(', ')}); check the label column.`);
	return { config, version, notes };
}
