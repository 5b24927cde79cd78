/**
 * The records the studio stores and passes between threads. Plain serializable objects only:
 * they go through IndexedDB and comlink as they are.
 */
import type { PhaseProgress } from './phases';
import type { Objective, RunConfig, SplitConfig, TokenizerConfig } from './config';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLITS: SplitName[] = ['train', 'validation', 'test'];
/** Splits are stored as small integers in row chunks. */
export const SPLIT_CODE: Record<SplitName, number> = { train: 0, validation: 1, test: 2 };

export interface Project {
	id: string;
	name: string;
	/** What the project's runs learn; see `Objective`. */
	task: Objective;
	description: string;
	createdAt: number;
	updatedAt: number;
	/** Set for the built-in example project. */
	example?: string;
	/** The dataset version the project currently uses. */
	datasetVersionId?: string;
}

/** One labelled example, as parsed from the user's file. */
export interface ParsedRow {
	text: string;
	label: string;
	/** A multi-label row kept whole: every label, in the order written (`label` is the first). */
	labels?: string[];
	/** 1-based physical line in the source file where the row starts (a quoted CSV field may span lines). */
	line: number;
	/** Other columns, kept for slicing metrics later. */
	meta?: Record<string, string>;
}

/** One turn of a chat-format example (`messages` with `role`/`content`). */
export interface ChatMessage {
	role: string;
	content: string;
}

/**
 * A row as stored: the label as an index into `DatasetVersion.labels`, the split as a code.
 * Text datasets have label 0 for every row; prompt/response datasets keep the prompt in `text`
 * and the answer in `response`, or the whole conversation in `messages`.
 */
export interface StoredRow {
	text: string;
	label: number;
	split: number;
	/**
	 * Multi-label versions (`DatasetVersion.multiLabel.mode` 'all'): the row's whole label set, as
	 * sorted indexes into `DatasetVersion.labels`; `label` is then the first label written in the
	 * file (what the split stratifies by). Absent in single-label rows and in versions stored before.
	 */
	labels?: number[];
	meta?: Record<string, string>;
	response?: string;
	messages?: ChatMessage[];
}

/** An immutable version of a dataset; its rows live in the `rows` store in chunks. */
export interface DatasetVersion {
	id: string;
	projectId: string;
	name: string;
	createdAt: number;
	source: { fileName: string; format: 'csv' | 'jsonl' | 'parquet' | 'txt'; bytes: number; hub?: HubDatasetSource };
	/**
	 * 'classification' (text + label), 'text' (domain text for language modelling), or 'pairs'
	 * (prompt/response, from two columns, alpaca fields or chat messages). Absent means classification.
	 */
	kind?: 'classification' | 'text' | 'pairs';
	textColumn: string;
	labelColumn: string;
	/** Label names, sorted; a row's label is an index into this. */
	labels: string[];
	/** Rows per label, index-aligned with `labels`. */
	labelCounts: number[];
	rowCount: number;
	chunkCount: number;
	/** SHA-256 (hex) of the rows as stored, for lineage. */
	contentHash: string;
	split: SplitConfig & { sizes: Record<SplitName, number> };
	/** Rows dropped while importing (empty text, missing label, duplicates), with reasons. */
	dropped: { line: number; reason: string }[];
	/** What the import found and what the user chose for repeated rows; absent in versions stored before the choice. */
	dedupe?: ImportCleaning;
	/** A re-split: the version whose rows this one splits again (same rows, new split). */
	resplitOf?: string;
	/** A cleaned version: the version it was made from, and the steps applied in order (data/clean.ts). */
	cleanedOf?: string;
	recipe?: { kind: 'normalize' | 'length' | 'near-duplicates' | 'redact-pii' | 'fix-leakage' | 'rename-label' | 'merge-labels' | 'drop-rare' | 'resample'; [setting: string]: unknown }[];
	/**
	 * Labels read from a multi-label column (data/labels.ts): how its cells were split, and what
	 * became of rows with several labels: the first label, one row per label, or ('all') every row
	 * keeping its label set (`StoredRow.labels`) for a multi-label classifier. `labelCounts` then
	 * counts rows per label (a row counts once for each of its labels).
	 */
	multiLabel?: { delimiter: 'json' | ';' | '|' | ','; mode: 'first' | 'explode' | 'all'; multiRows: number };
}

/** Where a Hub dataset's rows came from (data/hub-dataset.ts): enough to read the same rows again. */
export interface HubDatasetSource {
	dataset: string;
	config: string;
	split: string;
	/** 'converted': the Hub's Parquet conversion (`refs/convert/parquet`); 'own': the repo's Parquet files on main. */
	origin: 'converted' | 'own';
	revision: string;
	/** The commit every file was read at. */
	sha: string;
	files: string[];
	columns: string[];
	/** Rows read, the limit asked for, and the split's rows when every file's footer was read. */
	rows: number;
	limit: number;
	totalRows?: number;
}

/** How an import treated the rows of the file (see `DatasetVersion.dedupe`). */
export interface ImportCleaning {
	/** Exact duplicates (the whole example repeats an earlier row): dropped or kept. */
	duplicates: 'drop' | 'keep';
	/** Classification: texts with conflicting labels, all their rows dropped or kept. */
	conflicts: 'drop' | 'keep';
	/** Readable records in the file, and unreadable ones (skipped). */
	read: number;
	unreadable: number;
	/** Rows with an empty text, label, prompt or response (always dropped). */
	empty: number;
	/** Exact duplicates found, whatever was chosen. */
	duplicateRows: number;
	/** Texts with more than one label, and their rows (exact duplicates not counted again). */
	conflictTexts: number;
	conflictRows: number;
}

export interface RowChunk {
	versionId: string;
	index: number;
	rows: StoredRow[];
}

/** A tokenizer in Hugging Face `tokenizer.json` form: trained here, or a pretrained model's. */
export interface TokenizerRecord {
	/** SHA-256 (hex) of the tokenizer.json text. */
	hash: string;
	datasetVersionId: string;
	config: TokenizerConfig | { kind: 'hub'; repo: string; revision: string };
	json: string;
	createdAt: number;
}

/** Token ids of every row of a dataset version under one tokenizer. */
export interface TokenizedCache {
	/** `${datasetVersionId}:${tokenizerHash}` */
	key: string;
	datasetVersionId: string;
	tokenizerHash: string;
	/** Concatenated ids of all rows, in stored row order, truncated to `maxLength`. */
	ids: Int32Array;
	/** offsets[i]..offsets[i+1] are row i's ids. */
	offsets: Int32Array;
	labels: Int32Array;
	splits: Uint8Array;
	/**
	 * Instruction tuning: lossStart[i] is the position within row i where the response begins;
	 * tokens before it are prompt and carry no loss. Absent for other objectives.
	 */
	lossStart?: Int32Array;
	maxLength: number;
	createdAt: number;
}

export type RunStatus = 'created' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface BackendInfo {
	/** 'webgpu' | 'webgl' | 'cpu' (tfjs backend name). */
	name: string;
	adapter?: string;
	vendor?: string;
	architecture?: string;
	isFallbackAdapter?: boolean;
	/** Why a preferred backend was not used, when it was not. */
	fallbackReason?: string;
	/** Set after the GPU device was lost: what the engine did about it and where it runs now. */
	recovered?: string;
	maxStorageBufferBindingSize?: number;
	/** How the backend of a run was chosen (engine/backend-probe.ts): the user's setting, a probe's figures. */
	choice?: BackendChoice;
}

/** The user's backend setting: let the engine choose, or pin one backend. */
export type BackendMode = 'auto' | 'webgpu' | 'webgl' | 'cpu';

/** One backend's figure from a probe: milliseconds per training step, or why it was skipped. */
export interface BackendProbeFigure {
	backend: 'webgpu' | 'webgl' | 'cpu';
	msPerStep?: number;
	skipped?: string;
}

export interface BackendChoice {
	mode: BackendMode;
	/** 'probe': timed now; 'remembered': an earlier probe of the same shape on this adapter; 'override': the user's setting; 'gpu': a real GPU keeps WebGPU. */
	how: 'probe' | 'remembered' | 'override' | 'gpu';
	/** The model shape and adapter the probe timed (the remembered decisions' key). */
	key?: string;
	probe?: BackendProbeFigure[];
	/** What the page says: which backend and why. */
	message: string;
}

export interface Run {
	id: string;
	projectId: string;
	name: string;
	createdAt: number;
	updatedAt: number;
	status: RunStatus;
	config: RunConfig;
	/** Lineage: the dataset version and its content hash. */
	datasetVersionId: string;
	datasetHash: string;
	tokenizerHash?: string;
	/** The tokenized cache's key, when it is not `datasetVersionId:tokenizerHash` (pretrained models). */
	tokenizedKey?: string;
	backend?: BackendInfo;
	step: number;
	totalSteps: number;
	epoch: number;
	/** Wall time spent training, summed over sessions. */
	trainMs: number;
	/**
	 * Compiled training steps (WebGPU's fast path, engine/compiled/): of the `steps` micro-batches
	 * trained with compiling on (optimizer steps × gradient accumulation), how many were replayed
	 * from a plan in one submit, the plan's dispatches, and why a kind of step was refused. Summed
	 * over sessions.
	 */
	compiledSteps?: { replayed: number; steps: number; dispatches?: number; refused?: string };
	lastCheckpointId?: string;
	/** The checkpoint with the best validation accuracy: the one evaluated and used by default. */
	bestCheckpointId?: string;
	bestValAccuracy?: number;
	error?: string;
	/** Perplexity of the base and the fine-tuned model on general text: what specializing cost. */
	forgetting?: { base: number; tuned: number; tokens: number; checkedAt: number };
	/** Set for a prompt-only baseline stored as a run (no training; compared against fine-tuned runs). */
	baseline?: BaselineInfo;
	/** Why a run ended early though it did not fail (e.g. early stopping). */
	note?: string;
	/** Test-split results, once evaluated. */
	evaluation?: EvaluationResult;
	/**
	 * Multi-label runs: the probability at or above which a label is predicted (Predict and every
	 * evaluation from then on), chosen on the Evaluate screen; 0.5 (MULTILABEL_THRESHOLD) when unset.
	 */
	multiLabelThreshold?: number;
	/** Lineage of a branch ("resume from here"): the run and checkpoint it continues from. */
	parent?: CheckpointRef;
	/** Lineage of an experiment's run: the study and its trial number and parameters, or the cross-validation and its fold or seed. */
	experiment?: ExperimentLineage;
}

/** Which experiment a run belongs to (src/lib/experiments). Such runs do not score their test split when they finish. */
export interface ExperimentLineage {
	kind: 'study' | 'folds' | 'seeds';
	/** The study's or cross-validation's id in the `experiments` store. */
	id: string;
	/** A study's trial number, or a cross-validation's fold / repeat index. */
	index: number;
	params?: Record<string, string | number | boolean>;
}

/** A checkpoint of a run, as lineage names it: a branch's parent, a linked run's starting weights. */
export interface CheckpointRef {
	runId: string;
	checkpointId: string;
	step: number;
}

/** One logged point of a run's metric series. */
export interface MetricPoint {
	runId: string;
	step: number;
	epoch: number;
	time: number;
	lr?: number;
	trainLoss?: number;
	trainAccuracy?: number;
	valLoss?: number;
	valAccuracy?: number;
	stepsPerSec?: number;
	gradNorm?: number;
}

export interface TensorEntry {
	name: string;
	shape: number[];
	dtype: 'float32';
	/** Float offset and length within the concatenation of all chunks. */
	offset: number;
	length: number;
}

/** Where a training loop stands: saved with every checkpoint so a resumed run continues exactly. */
export interface TrainerState {
	prngState: number;
	epoch: number;
	stepInEpoch: number;
	/** This epoch's shuffled order of training rows. */
	order: number[];
	optimizerStep: number;
	/** Best validation score so far (accuracy, or minus the loss), so a resumed run knows what "better" means. */
	bestValAccuracy?: number;
	/** Early stopping: the best value of the watched metric, when it was reached, and evaluations since it last improved by minDelta. */
	earlyStopping?: { best: number | null; bestStep: number; badEvals: number };
	/** Divergence watchdog: the first and best windowed training loss, and log points in a row above the limit. */
	watchdog?: { firstLoss: number | null; bestLoss: number | null; strikes: number };
}

/** Written last, in a strict transaction: a checkpoint without a manifest does not exist. */
export interface CheckpointManifest {
	id: string;
	runId: string;
	step: number;
	epoch: number;
	createdAt: number;
	config: RunConfig;
	tensors: TensorEntry[];
	chunkCount: number;
	bytes: number;
	/** Trainer state needed to continue exactly: PRNG, data cursor, optimizer step. */
	trainerState: TrainerState;
	valAccuracy?: number;
	/** Saved because validation accuracy improved. */
	best?: boolean;
	/** Saved while the divergence watchdog counted strikes; deleted if the watchdog stops the run. */
	suspect?: boolean;
}

export interface CheckpointChunk {
	checkpointId: string;
	index: number;
	data: ArrayBuffer;
}

export interface ClassReport {
	label: string;
	precision: number;
	recall: number;
	f1: number;
	support: number;
}

/** Per-sequence sums of a language-modelling evaluation, index-aligned: the tokenized row (a packed block, or a prompt/response pair), Σ NLL (nats), predicted and correct tokens. */
export interface LmExamples {
	row: Int32Array;
	nll: Float32Array;
	tokens: Int32Array;
	correct: Int32Array;
}

export interface EvaluationResult {
	split: SplitName;
	checkpointId: string;
	step: number;
	accuracy: number;
	macroF1: number;
	loss: number;
	perClass: ClassReport[];
	/** rows = true class, columns = predicted class */
	confusion: number[][];
	labels: string[];
	count: number;
	createdAt: number;
	/** Language-modelling runs: perplexity (exp of the token-weighted loss) and next-token accuracy; per-sequence sums for paired comparisons. */
	lm?: { perplexity: number; tokenAccuracy: number; examples?: LmExamples };
	// The full evaluation (engine/eval/evaluation.ts); absent in records stored before it.
	/** Lineage of the scored rows: paired comparisons need the same version and split. */
	datasetVersionId?: string;
	datasetHash?: string;
	balancedAccuracy?: number;
	averages?: { macro: PrfSummary; micro: PrfSummary; weighted: PrfSummary };
	/** Matthews correlation coefficient (multi-class R_K). */
	mcc?: number;
	/** Cohen's kappa, unweighted. */
	kappa?: number;
	/** sklearn `log_loss`, nats per example. */
	logLoss?: number;
	/** Binary: sklearn `brier_score_loss` of the positive class; multi-class: mean Σ_k (p_k − y_k)². */
	brier?: number;
	/** ROC AUC: binary, or one-vs-rest macro and weighted; null where undefined (a class absent). */
	rocAuc?: { macro: number | null; weighted: number | null };
	/** Average precision of the positive class (binary) or the one-vs-rest macro mean. */
	averagePrecision?: number | null;
	/** ROC curves: the positive class (binary) or one per class (one-vs-rest), thinned for display. */
	roc?: ClassCurve[];
	/** Expected calibration error (10 equal-width bins of the max probability). */
	ece?: number;
	reliability?: ReliabilityBin[];
	/** Percentile-bootstrap intervals over the examples (`bootstrap` says how). */
	intervals?: { accuracy: MetricInterval; macroF1: MetricInterval; logLoss: MetricInterval };
	bootstrap?: { resamples: number; seed: number; alpha: number };
	/** Every scored example, for browsing and paired comparisons. */
	examples?: EvalExamples;
	/** Accuracy and macro F1 per value of each metadata column. */
	slices?: SliceColumn[];
	/** Instruction runs and generation baselines: greedy outputs on the first test rows, scored against the references. */
	generation?: GenerationEvaluation;
	/**
	 * Multi-label runs (engine/eval/multilabel.ts, sklearn's definitions): `accuracy` is then the
	 * subset accuracy, `macroF1` the macro F1 and `perClass` per label; no confusion matrix.
	 */
	multiLabel?: MultiLabelEvaluation;
}

/** A multi-label classifier's scores at one probability threshold. */
export interface MultiLabelEvaluation {
	threshold: number;
	micro: PrfSummary;
	macro: PrfSummary;
	weighted: PrfSummary;
	/** Share of label slots decided wrong (sklearn `hamming_loss`). */
	hammingLoss: number;
	/** Share of rows whose whole label set is right (sklearn `accuracy_score` on indicator matrices). */
	subsetAccuracy: number;
	/** Mean labels per row, true and predicted. */
	meanTrue: number;
	meanPredicted: number;
	/** Scored rows with their true and predicted label ids, for browsing (the first 500). */
	examples: { row: number; truth: number[]; predicted: number[] }[];
	/**
	 * Percentile-bootstrap intervals over the rows at this threshold (`EvaluationResult.bootstrap`
	 * says how; engine/eval/multilabel-bootstrap.ts). Absent in evaluations stored before them.
	 */
	intervals?: { subsetAccuracy: MetricInterval; microF1: MetricInterval; macroF1: MetricInterval; hammingLoss: MetricInterval };
	/**
	 * Every scored row's true set and sigmoid probabilities, row-major (n, L), so the Evaluate
	 * screen can show the scores at another threshold without scoring again, and `rows`, each
	 * one's index in the dataset version, so Compare can pair two systems row by row (the
	 * predicted sets are the probabilities at `threshold`). Absent in evaluations stored before
	 * they were kept (`rows` came later than the rest).
	 */
	scores?: { truth: Uint8Array; probs: Float32Array; rows?: Int32Array };
}

/** What the engine reports while training, through a comlink proxy callback. */
export type TrainEvent =
	| { type: 'started'; runId: string; backend: BackendInfo; totalSteps: number; step: number }
	| { type: 'metrics'; point: MetricPoint; step: number; totalSteps: number; etaSec: number }
	| { type: 'checkpoint'; checkpointId: string; step: number }
	| { type: 'status'; status: RunStatus; message?: string }
	/** A named phase around the steps (tokenizing, warm-up, test scoring, …) with its progress; null when it ends. */
	| { type: 'phase'; phase: PhaseProgress | null };

export interface Prediction {
	label: string;
	probabilities: { label: string; p: number }[];
	tokens: number;
	/** Multi-label runs: the labels at or above the threshold (sigmoid probabilities, each on its own). */
	multiLabel?: { threshold: number; labels: string[] };
}

// ---- The full evaluation (engine/eval/evaluation.ts), baselines and comparisons ----

export interface PrfSummary {
	precision: number;
	recall: number;
	f1: number;
}

/** A metric on all examples with its bootstrap interval (1 − alpha coverage). */
export interface MetricInterval {
	estimate: number;
	low: number;
	high: number;
}

/** One ROC curve (one-vs-rest for `label`), with its AUC and average precision. */
export interface ClassCurve {
	label: string;
	auc: number | null;
	averagePrecision: number;
	fpr: number[];
	tpr: number[];
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
	lower: number;
	upper: number;
	count: number;
	/** Share of the bin's predictions that are right; null for an empty bin. */
	accuracy: number | null;
	/** Mean max-probability in the bin; null for an empty bin. */
	confidence: number | null;
}

/**
 * Per-example records, columnar and index-aligned: example i is stored row `row[i]` of the
 * dataset version. Typed arrays keep a few thousand examples to a few hundred KB.
 */
export interface EvalExamples {
	row: Int32Array;
	label: Int32Array;
	pred: Int32Array;
	/** Row-major (n, K) class probabilities, float32. */
	probs: Float32Array;
	/** −ln p(true class) per example (clipped and renormalised as sklearn `log_loss`). */
	loss: Float32Array;
}

/** Metrics of the examples whose metadata column has one value (or, for "(other)", one of `values`). */
export interface SliceMetrics {
	value: string;
	count: number;
	accuracy: number;
	/** Macro F1 over the classes present in the slice (sklearn's default labels). */
	macroF1: number;
	/** Wilson 95% score interval of the accuracy. */
	low: number;
	high: number;
	/** Fewer examples than the minimum: shown, but left out of the gap. */
	small: boolean;
	/** The values grouped into an "(other)" slice. */
	values?: string[];
}

export interface SliceColumn {
	column: string;
	slices: SliceMetrics[];
	/** Best minus worst accuracy over the slices that are not small; null with fewer than two. */
	gap: number | null;
	best?: string;
	worst?: string;
	/** The best and worst slices' accuracy intervals do not overlap. */
	notable: boolean;
	/** Why the column was not sliced (e.g. too many distinct values). */
	skipped?: string;
}

/**
 * A prompt-only or trivial reference a fine-tuned model must beat. Majority: the training label
 * frequencies for every example (sklearn `DummyClassifier(strategy='prior')`). Zero-/few-shot: a
 * causal LM scoring each label word after a prompt; any per-example probability matrix fits.
 */
export interface BaselineInfo {
	kind: 'majority' | 'zero-shot' | 'few-shot';
	/** One line for tables, e.g. "always 'billing' (20.1% of training rows)". */
	description: string;
	model?: { repo: string; revision: string };
	prompt?: string;
	shots?: number;
	/** The word scored for each label, index-aligned with the labels. */
	labelWords?: string[];
}

/** Options of the engine's `evaluate`; `shouldStop` is polled between batches (a comlink proxy may answer with a promise). */
/** Plain data (it crosses postMessage); the stop callback is an argument of its own. */
export interface EvaluateOptions extends GenerationEvalOptions {
	/** Bootstrap resamples for the intervals (default 1000). */
	resamples?: number;
	seed?: number;
}

/** One generated answer beside its reference: `row` is the stored row index in the dataset version. */
export interface GenerationExample {
	row: number;
	/** The prompt as one text (the last user turn, or `Role: content` turns). */
	prompt: string;
	reference: string;
	output: string;
	/** sacrebleu sentence BLEU (0–100), ROUGE-L F (0–1, stemmed), exact match after trimming whitespace. */
	bleu: number;
	rougeL: number;
	exact: boolean;
}

/**
 * Generation quality of a model on the first `rows` rows of a split (engine/eval/generation-eval.ts):
 * corpus BLEU (sacrebleu defaults, 0–100), mean ROUGE-1/2/L F (rouge-score with the Porter stemmer,
 * 0–1) and exact match (string equality after trimming whitespace, 0–1), with percentile-bootstrap
 * intervals over the examples.
 */
export interface GenerationEvaluation {
	split: SplitName;
	/** How many rows were generated for (the first N of the split, in stored order). */
	rows: number;
	maxNewTokens: number;
	bleu: number;
	rouge1: number;
	rouge2: number;
	rougeL: number;
	exactMatch: number;
	intervals: { bleu: MetricInterval; rougeL: MetricInterval; exactMatch: MetricInterval };
	bootstrap: { resamples: number; seed: number; alpha: number };
	/** sacrebleu signature of the corpus BLEU. */
	signature: string;
	examples: GenerationExample[];
}

/** Options of generation evaluation (instruction runs' `evaluate`, and the generation baseline). */
export interface GenerationEvalOptions {
	/** Test rows to generate for: the first N of the split (default 50). */
	generationRows?: number;
	/** Tokens generated per prompt at most (default 64); greedy, stopping at EOS. */
	maxNewTokens?: number;
}
