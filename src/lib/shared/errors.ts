/**
 * Errors a user can cause. Each has a stable `code` the UI can key on and a message that says
 * what went wrong and what to do. They cross comlink as plain objects, so `toUserError` turns
 * anything thrown in a worker back into one.
 */

export type UserErrorCode =
	| 'empty-file'
	| 'binary-file'
	| 'parse-error'
	| 'bad-pattern'
	| 'no-text-column'
	| 'no-label-column'
	| 'single-class'
	| 'too-few-rows'
	| 'quota-exceeded'
	| 'not-found'
	| 'worker-crashed'
	| 'timeout'
	| 'model-too-large'
	| 'training-diverged'
	| 'device-lost'
	| 'cancelled'
	| 'invalid-config'
	| 'unauthorized'
	| 'network';

export class UserError extends Error {
	constructor(
		public code: UserErrorCode,
		message: string,
		/** 1-based line numbers in the user's file where the problem is, when it has a place. */
		public lines: number[] = []
	) {
		super(message);
		this.name = 'UserError';
	}
}

export function isQuotaError(e: unknown): boolean {
	const name = (e as { name?: string })?.name ?? '';
	return name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message ?? ''));
}

/**
 * Rethrow storage failures as a named error that says what to do: what was not saved (with the
 * space it needed, when the caller knows it), where to free space (the Storage screen lists what
 * takes it), and what to do then (`then`: "try again" unless the caller says better).
 */
export function storageError(e: unknown, what: string, then = 'try again'): Error {
	if (isQuotaError(e))
		return new UserError(
			'quota-exceeded',
			`Browser storage is full, so ${what} was not saved. Delete old runs or projects, checkpoints, cached models or tokenized caches on the Storage screen, then ${then}; everything saved before is intact.`
		);
	return e instanceof Error ? e : new Error(String(e));
}
