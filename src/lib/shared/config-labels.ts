/**
 * The names a person reads for run settings: the labels of the Train screen's forms
 * (routes/train/ConfigForm.svelte, MethodForm.svelte) keyed by the config's dotted path
 * ("train.learningRate" → "Learning rate"), so the settings diff on Compare and the forms say the
 * same thing. A path without a label reads as its words ("model.fooBar" → "Model · foo bar").
 */

export const CONFIG_LABELS: Record<string, string> = {
	// From-scratch model shape
	'model.nLayer': 'Layers',
	'model.nHead': 'Attention heads',
	'model.dModel': 'Width (d_model)',
	'model.contextLength': 'Context length',
	'model.pooling': 'Pooling',
	'model.causal': 'Attention',
	'model.dropout': 'Dropout',
	'model.vocabSize': 'Model vocabulary',
	'model.mlpRatio': 'MLP width (× d_model)',
	'model.numClasses': 'Classes',
	'model.head': 'Head',
	'model.arch': 'Architecture',
	// Tokenizer
	'tokenizer.vocabSize': 'Vocabulary size',
	'tokenizer.lowercase': 'Lowercase text',
	'tokenizer.kind': 'Tokenizer',
	'tokenizer.repo': 'Tokenizer',
	'tokenizer.revision': 'Tokenizer revision',
	// Training loop
	'train.learningRate': 'Learning rate',
	'train.batchSize': 'Batch size',
	'train.epochs': 'Epochs',
	'train.maxSteps': 'Max steps',
	'train.optimizer': 'Optimizer',
	'train.weightDecay': 'Weight decay',
	'train.momentum': 'Momentum',
	'train.nesterov': 'Nesterov',
	'train.beta1': 'β1',
	'train.beta2': 'β2',
	'train.eps': 'ε',
	'train.schedule': 'Schedule',
	'train.warmupSteps': 'Warmup steps',
	'train.warmupRatio': 'Warmup ratio',
	'train.minLrRatio': 'Cosine floor',
	'train.gradAccumSteps': 'Gradient accumulation',
	'train.activationCheckpointing': 'Activation checkpointing',
	'train.gradClip': 'Gradient clip (global norm)',
	'train.divergenceFactor': 'Divergence watchdog',
	'train.divergencePatience': 'Divergence patience',
	'train.labelSmoothing': 'Label smoothing',
	'train.tokenDropout': 'Word dropout',
	'train.earlyStopping': 'Stop early',
	'train.earlyStopping.metric': 'Stop early · watch',
	'train.earlyStopping.patience': 'Stop early · patience',
	'train.earlyStopping.minDelta': 'Stop early · minimum improvement',
	'train.evalEvery': 'Evaluate every (steps)',
	'train.logEvery': 'Log every (steps)',
	'train.checkpointEvery': 'Checkpoint every (steps)',
	'train.keepCheckpoints': 'Checkpoints kept',
	'train.seed': 'Seed',
	// Pretrained model and method
	'pretrained.repo': 'Pretrained model',
	'pretrained.revision': 'Model revision',
	'pretrained.modelType': 'Architecture',
	'pretrained.objective': 'Objective',
	'pretrained.contextLength': 'Context length',
	'pretrained.numClasses': 'Classes',
	'pretrained.method.kind': 'Fine-tuning method',
	'pretrained.method.rank': 'LoRA rank (r)',
	'pretrained.method.alpha': 'LoRA alpha',
	'pretrained.method.dropout': 'LoRA dropout',
	'pretrained.method.targetModules': 'LoRA target modules',
	'pretrained.method.layers': 'Frozen layers',
	'pretrained.dropout.attention': 'Attention dropout',
	'pretrained.dropout.residual': 'Residual dropout',
	'pretrained.dropout.classifier': 'Classifier dropout',
	'pretrained.init.runId': 'Starts from run',
	'pretrained.init.checkpointId': 'Starts from checkpoint',
	// Not config, but shown beside it on Compare
	dataset: 'Dataset version',
	backend: 'Backend'
};

const SECTIONS: Record<string, string> = { model: 'Model', train: 'Training', tokenizer: 'Tokenizer', pretrained: 'Pretrained', hfConfig: 'config.json' };

/** "learningRate" → "learning rate", "nLayer" → "n layer". */
function words(key: string): string {
	return key
		.replace(/([a-z0-9])([A-Z])/g, '$1 $2')
		.replace(/[_-]+/g, ' ')
		.toLowerCase();
}

/** The form's label of a config path (with or without a leading "config."), or its words. */
export function configLabel(path: string): string {
	const p = path.replace(/^config\./, '');
	const known = CONFIG_LABELS[p];
	if (known) return known;
	const parts = p.split('.');
	const head = SECTIONS[parts[0]];
	// config.json fields keep their Hugging Face names (n_embd); camelCase reads as words.
	const rest = (head ? parts.slice(1) : parts).map((x) => SECTIONS[x] ?? (/[A-Z]/.test(x) ? words(x) : x));
	return [head, ...rest].filter(Boolean).join(' · ');
}
