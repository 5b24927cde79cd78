/**
 * Which part of a training step the engine is in, for counting GPU dispatches per phase
 * (bench:step): the step code marks the boundaries, a counter that wraps the GPU's dispatch calls
 * reads the current phase. tfjs encodes each kernel's dispatch when the op runs, so a mark placed
 * between ops attributes every dispatch after it. Costs nothing when nobody counts.
 */
export type StepPhase = 'forward' | 'backward' | 'clip' | 'optimizer' | 'other';

let phase: StepPhase = 'other';

export function setStepPhase(p: StepPhase): void {
	phase = p;
}

export function stepPhase(): StepPhase {
	return phase;
}
