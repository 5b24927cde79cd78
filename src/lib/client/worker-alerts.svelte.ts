/**
 * Workers of this tab that stopped (a silent death, a crash) and wait for the user's restart:
 * the data and Hub clients report here, the layout shows each with its Restart button
 * (routes/WorkerAlerts.svelte), so the alert appears on whichever screen the user is on without
 * the layout starting a worker itself. The engine's own banner is on the Train screen.
 */
export interface WorkerAlert {
	/** The worker, in words ("data worker"); one alert per worker. */
	label: string;
	/** The named error's message: what stopped, and what a restart keeps. */
	message: string;
	restart: () => void;
}

class WorkerAlerts {
	list = $state.raw<WorkerAlert[]>([]);

	report(alert: WorkerAlert): void {
		this.list = [...this.list.filter((a) => a.label !== alert.label), alert];
	}

	clear(label: string): void {
		if (this.list.some((a) => a.label === label)) this.list = this.list.filter((a) => a.label !== label);
	}
}

export const workerAlerts = new WorkerAlerts();
