/**
 * Internal helpers for the storage modules: a write transaction that lands whole or not at all,
 * and key ranges over the compound-keyed stores (`[ownerId, n]`). Not re-exported.
 */
import type { IDBPTransaction, StoreNames } from 'idb';
import { storageError } from '../shared/errors';
import { openDb, type WhetstoneDB } from './db';

export type Store = StoreNames<WhetstoneDB>;
export type WriteTx<N extends Store> = IDBPTransaction<WhetstoneDB, N[], 'readwrite'>;

export interface WriteOptions {
	/** What is being saved, for the message when storage is full ("the dataset"). */
	what?: string;
	durability?: IDBTransactionDurability;
}

/**
 * Run `work` in one readwrite transaction over `stores`. If `work` throws or the commit fails,
 * the transaction is aborted, so none of its writes are stored. `work` must only await requests
 * of `tx`: awaiting anything else lets the transaction commit early.
 */
export async function write<N extends Store, T>(
	stores: N[],
	work: (tx: WriteTx<N>) => Promise<T>,
	{ what, durability }: WriteOptions = {}
): Promise<T> {
	const db = await openDb();
	const tx = db.transaction(stores, 'readwrite', durability ? { durability } : undefined);
	// Observed now so the abort we cause on failure is not reported as unhandled; awaited below.
	tx.done.catch(() => {});
	try {
		const result = await work(tx);
		await tx.done;
		return result;
	} catch (e) {
		abortQuietly(tx);
		throw what ? storageError(e, what) : e;
	}
}

function abortQuietly(tx: { abort(): void }): void {
	try {
		tx.abort();
	} catch {
		// Already aborted by the failing request, or already committed.
	}
}

/** Every key `[id, n]`: all row chunks of a version, metrics of a run, chunks of a checkpoint. */
export function ownedBy(id: string): IDBKeyRange {
	return IDBKeyRange.bound([id, -Infinity], [id, Infinity]);
}

/** Keys `[id, n]` with n > after. */
export function ownedAfter(id: string, after: number): IDBKeyRange {
	return IDBKeyRange.bound([id, after], [id, Infinity], true, false);
}
