/**
 * The memory planner: given a run's training-memory estimate (shared/memory.ts `trainingMemory`),
 * a memory budget and the batch the user asked for, choose how to run that batch so it fits, as
 * a practitioner would with Accelerate's `find_executable_batch_size` and the Trainer's
 * `gradient_accumulation_steps` / `gradient_checkpointing`: the effective batch (batch size ×
 * accumulation) stays, so the optimizer sees the same updates; the micro-batch is the largest
 * divisor of it that fits; activation checkpointing comes on only when even one example per
 * micro-batch does not fit without it (it costs about a third more compute). Pure, so the page
 * and the tests compute the same plan.
 */
import { approxBytes, type TrainingMemory } from './memory';

/** 'auto': the planner may turn checkpointing on; 'on' / 'off': as the user set it. */
export type CheckpointChoice = 'auto' | 'on' | 'off';

export interface PlanRequest {
	/** The run's estimate at any batch size: its fixed parts and its per-example activations are what count. */
	memory: Pick<TrainingMemory, 'weights' | 'gradients' | 'optimizer' | 'perExample' | 'batch'>;
	/** Bytes the run may use. */
	budget: number;
	batchSize: number;
	gradAccumSteps: number;
	checkpointing: CheckpointChoice;
	/** The largest micro-batch the form accepts (TrainConfig's batch-size limit). */
	maxMicroBatch?: number;
}

export interface MemoryPlan {
	/** False when nothing fits: then the other fields are the closest try and `reason` says what to change. */
	fits: boolean;
	microBatch: number;
	accumSteps: number;
	checkpointing: boolean;
	/** Bytes the plan needs (memory.ts's estimate). */
	estimate: number;
	budget: number;
	/** The plan in words, e.g. "batch 16 as 4 micro-batches of 4 with activation checkpointing: about 1.2 GB of 1.5 GB". */
	reason: string;
}

/** Divisors of n, largest first. */
function divisorsDown(n: number): number[] {
	const out: number[] = [];
	for (let d = n; d >= 1; d--) if (n % d === 0) out.push(d);
	return out;
}

/** Bytes to train with micro-batches of `micro` rows. */
export function planBytes(m: PlanRequest['memory'], micro: number, checkpointing: boolean): number {
	return m.weights + m.gradients + m.optimizer + micro * (checkpointing ? m.perExample.checkpointed : m.perExample.plain);
}

function words(effective: number, micro: number, accum: number, checkpointing: boolean): string {
	const split = accum === 1 ? `batch ${effective} in one micro-batch` : `batch ${effective} as ${accum} micro-batches of ${micro}`;
	return split + (checkpointing ? ' with activation checkpointing' : '');
}

/** The plan for this request; see the module header for the rules. */
export function planMemory(req: PlanRequest): MemoryPlan {
	const effective = Math.max(1, Math.round(req.batchSize)) * Math.max(1, Math.round(req.gradAccumSteps));
	const maxMicro = req.maxMicroBatch ?? 512;
	const modes = req.checkpointing === 'on' ? [true] : req.checkpointing === 'off' ? [false] : [false, true];
	const m = req.memory;
	const budget = req.budget;
	for (const ckpt of modes)
		for (const micro of divisorsDown(effective)) {
			if (micro > maxMicro) continue;
			const estimate = planBytes(m, micro, ckpt);
			if (estimate <= budget) {
				const accumSteps = effective / micro;
				return { fits: true, microBatch: micro, accumSteps, checkpointing: ckpt, estimate, budget, reason: `${words(effective, micro, accumSteps, ckpt)}: about ${approxBytes(estimate)} of ${approxBytes(budget)}` };
			}
		}
	// Nothing fits: say which part is too large and what shrinks it.
	const ckpt = req.checkpointing !== 'off';
	const estimate = planBytes(m, 1, ckpt);
	const fixed = m.weights + m.gradients + m.optimizer;
	const base = { fits: false, microBatch: 1, accumSteps: effective, checkpointing: ckpt, estimate, budget };
	if (fixed > budget)
		return {
			...base,
			reason: `The weights, gradients and optimizer state alone need about ${approxBytes(fixed)} of ${approxBytes(budget)}: pick a smaller model, or LoRA (only the adapter has gradients and optimizer state).`
		};
	const perExample = ckpt ? m.perExample.checkpointed : m.perExample.plain;
	const hint = req.checkpointing === 'off' ? 'turn on activation checkpointing, ' : '';
	return {
		...base,
		reason: `Even one example per micro-batch needs about ${approxBytes(estimate)} of ${approxBytes(budget)} (${approxBytes(perExample)} of activations for ${m.batch.seqLen} tokens${ckpt ? ' with checkpointing' : ''}): ${hint}shorten the context, or pick a smaller model or LoRA.`
	};
}

/**
 * The budget the page assumes when the user has not set one. WebGPU does not report how much
 * memory the GPU has, and an integrated GPU shares the device's RAM: so half of
 * `navigator.deviceMemory` (GiB, rounded to a power of two and capped by the browser: the
 * headless Chromium of the e2e tests reports 16; 4 GiB when the browser does not report it, as
 * Firefox and Safari do not), the figure the model picker already uses. A user with a discrete
 * GPU knows its memory better and sets it.
 */
export function defaultMemoryBudget(deviceMemoryGB: number | undefined): number {
	return (deviceMemoryGB && deviceMemoryGB > 0 ? deviceMemoryGB : 4) * 2 ** 30 * 0.5;
}
