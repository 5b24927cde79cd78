/**
 * What a worker offers the page's watches (src/lib/client/bridge.ts): `ping` answers the
 * heartbeat, `holdLifeLock` holds a Web Lock for as long as the worker lives, so the page, waiting
 * for the same lock, is handed it the moment the worker ends, with or without an error event.
 * The data and Hub workers spread this into their API; the engine worker has its own copy.
 */
export const watchApi = {
	ping: () => Date.now(),

	/** Hold `name` until this worker ends; resolves once it is held (false where Web Locks are missing). */
	holdLifeLock(name: string): Promise<boolean> {
		const locks = (globalThis.navigator as Navigator | undefined)?.locks;
		if (!locks) return Promise.resolve(false);
		return new Promise((held) => {
			void locks.request(name, () => {
				held(true);
				return new Promise<never>(() => {});
			});
		});
	}
};
