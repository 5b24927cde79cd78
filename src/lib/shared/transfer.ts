/**
 * Errors across comlink. Comlink's own handler keeps only name, message and stack, which would
 * drop a UserError's `code` and `lines`; this keeps them and rebuilds a UserError on the page, so
 * the UI can show "line 7: not valid JSON" and key its actions on the code. Installed in every
 * worker and in the page (comlink's handler map is per realm).
 */
import { transferHandlers } from 'comlink';
import { UserError, type UserErrorCode } from './errors';

interface SerializedError {
	name: string;
	message: string;
	stack?: string;
	code?: UserErrorCode;
	lines?: number[];
}

let installed = false;

export function installErrorTransfer(): void {
	if (installed) return;
	installed = true;
	const original = transferHandlers.get('throw')!;
	transferHandlers.set('throw', {
		canHandle: original.canHandle,
		serialize({ value }: { value: unknown }) {
			if (!(value instanceof Error)) return [{ isError: false, value }, []];
			const e = value as Error & { code?: UserErrorCode; lines?: number[] };
			const out: SerializedError = { name: e.name, message: e.message, stack: e.stack, code: e.code, lines: e.lines };
			return [{ isError: true, value: out }, []];
		},
		deserialize(s: { isError: boolean; value: unknown }) {
			if (!s.isError) throw s.value;
			const v = s.value as SerializedError;
			const e = v.code ? new UserError(v.code, v.message, v.lines ?? []) : Object.assign(new Error(v.message), { name: v.name });
			e.stack = v.stack;
			throw e;
		}
	});
}
