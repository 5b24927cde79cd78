/**
 * Long data work written once as a generator that `yield`s at safe points, and run either to its
 * end at once (Node scripts, tests, small inputs) or in slices that give the worker's event loop
 * back between them (the data worker, where the page's heartbeat must be answered while a million
 * rows are checked). Both give the same result: the work does not know how it is driven.
 */
import { Slicer } from './tokenize-slices';

/** A piece of work that yields (nothing) where it may pause, and returns its result. */
export type Work<T> = Generator<void, T, void>;

/** Runs the work to its end without pausing. */
export function runToEnd<T>(work: Work<T>): T {
	for (;;) {
		const step = work.next();
		if (step.done) return step.value;
	}
}

/** Runs the work, giving the event loop back whenever a slice has run its time (`Slicer`). */
export async function runInSlices<T>(work: Work<T>, slicer = new Slicer()): Promise<T> {
	for (;;) {
		const step = work.next();
		if (step.done) return step.value;
		if (slicer.due()) await slicer.yield();
	}
}
