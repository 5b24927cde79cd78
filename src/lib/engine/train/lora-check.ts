/**
 * LoRA training with adapter dropout on the fast path against the reference path, through the
 * real session (pretrained.ts): a tiny random Llama with adapters on q and v (the default) and on
 * every linear layer, trained a few steps on each path from the same weights with the same
 * dropout seeds. The fused kernels (ops/fused/lora.ts) hash each adapter's mask from the step's
 * seed as the composite does, so the two loss curves agree within float32 noise; a second fast
 * run replays the first bit for bit (what resuming from a checkpoint relies on); and a run with
 * dropout off differs, so the masks did act. And the fast path once more with the binding limit
 * pretended to be 4 KiB, so that the frozen embedding, the tied LM head and the larger frozen
 * projections are read in parts (ops/split.ts), as GPT-2's embedding is on a 128 MiB adapter.
 * Returns figures; the caller decides what passes.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../shared/config';
import { Prng } from '../../shared/prng';
import { fastPathEnabled, setFastPath } from '../fast-path';
import { randomCheckpoint } from '../bench-hf';
import { hfConfigFor } from '../bench-step';
import { setBindingLimitForTest } from '../ops/split';
import { resolveConfig } from '../models/registry';
import { configForObjective, PretrainedSession, type LmTokenRows } from '../pretrained';

export interface LoraTrainingCase {
	targets: string;
	dropout: number;
	/** Per-step losses: fast path, a second fast run, the reference path, the fast path without dropout. */
	fast: number[];
	replay: number[];
	reference: number[];
	noDropout: number[];
	/** The fast path with tables over a 4 KiB binding limit read in parts. */
	inParts: number[];
	/** max |fast − reference| / max |reference| over the steps. */
	maxRel: number;
	/** max |fast − replay|: 0 when a run replays exactly. */
	replayMaxAbs: number;
	/** max |fast − noDropout|: above 0 when the masks acted. */
	noDropoutMaxAbs: number;
	/** max |fast − inParts| / max |fast|. */
	inPartsMaxRel: number;
	tensorsLeaked: number;
}

/** The bench's Llama at a small shape, with grouped-query heads and an MLP width that is not 4·d. */
const HF_CONFIG: Record<string, unknown> = {
	...hfConfigFor({ model: 'llama', layers: 2, width: 32, heads: 4, vocab: 61, seq: 16 }),
	num_key_value_heads: 2,
	intermediate_size: 72,
	max_position_embeddings: 32
};
const SEQ = 16;
const ROWS = 3;
const LR = 1e-2;

function runConfig(targets: string, dropout: number): RunConfig {
	const cfg = defaultRunConfig(2);
	cfg.train = { ...cfg.train, batchSize: ROWS, weightDecay: 0.01, seed: 5 };
	cfg.pretrained = {
		repo: 'check',
		revision: 'check',
		modelType: 'llama',
		hfConfig: HF_CONFIG,
		objective: 'causal-lm',
		contextLength: SEQ,
		numClasses: 2,
		method: { kind: 'lora', rank: 4, alpha: 8, dropout, targetModules: targets }
	};
	return cfg;
}

function rows(): LmTokenRows {
	const rng = new Prng(11);
	const vocab = HF_CONFIG.vocab_size as number;
	return {
		ids: Int32Array.from({ length: ROWS * SEQ }, () => 3 + rng.int(vocab - 3)),
		offsets: Int32Array.from({ length: ROWS + 1 }, (_, i) => i * SEQ),
		labels: new Int32Array(ROWS)
	} as LmTokenRows;
}

async function train(targets: string, dropout: number, fast: boolean, steps: number): Promise<number[]> {
	const { spec, config } = resolveConfig(configForObjective(HF_CONFIG, 'causal-lm', []));
	const session = await PretrainedSession.fromPretrained(runConfig(targets, dropout), randomCheckpoint(spec.paramShapes(config), 3), { padId: 0 }, []);
	const losses: number[] = [];
	try {
		const data = rows();
		const hb = session.batch(data, [...Array(ROWS).keys()]);
		for (let i = 0; i < steps; i++) {
			setFastPath(fast);
			session.trainStep(hb, LR, 1000 + i);
			losses.push((await session.takeStats())?.loss ?? NaN);
		}
	} finally {
		session.dispose();
	}
	return losses;
}

const maxAbs = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

/** The check for the default targets and for every linear layer; see the file's comment. */
export async function loraTrainingCheck(steps = 8, dropout = 0.1): Promise<LoraTrainingCase[]> {
	const was = fastPathEnabled();
	const out: LoraTrainingCase[] = [];
	try {
		for (const targets of ['q_proj,v_proj', 'all-linear']) {
			const before = tf.memory().numTensors;
			const fast = await train(targets, dropout, true, steps);
			const replay = await train(targets, dropout, true, steps);
			const reference = await train(targets, dropout, false, steps);
			const noDropout = await train(targets, 0, true, steps);
			let inParts: number[];
			setBindingLimitForTest(4096);
			try {
				inParts = await train(targets, dropout, true, steps);
			} finally {
				setBindingLimitForTest(null);
			}
			const scale = Math.max(...reference.map(Math.abs));
			out.push({
				targets,
				dropout,
				fast,
				replay,
				reference,
				noDropout,
				inParts,
				inPartsMaxRel: maxAbs(fast, inParts) / scale,
				maxRel: maxAbs(fast, reference) / scale,
				replayMaxAbs: maxAbs(fast, replay),
				noDropoutMaxAbs: maxAbs(fast, noDropout),
				tensorsLeaked: tf.memory().numTensors - before
			});
		}
	} finally {
		setFastPath(was);
	}
	return out;
}
