/** What every section of the Inside view receives: the picked model and what it is. */
import type { InsideTarget } from '../../../../workers/inside-api';
import type { InsideInfo } from '$lib/engine/inside/model';
import type { ModelRef } from '$lib/shared/hub';

export type { InsideTarget };

export interface InsidePick {
	/** The model the engine loads: a run's checkpoint or a cached base model. */
	target: InsideTarget;
	/** How the picker names it ("run-3 · step 8", "whetstone-test/tiny-gpt2"). */
	label: string;
	/** Changes whenever the pick does, so a section can drop results of the previous model. */
	key: string;
	info: InsideInfo & { base: ModelRef | null };
}

/** Props of an Inside section component. */
export interface SectionProps {
	pick: InsidePick;
}
