/**
 * The backend a run trains on, settled at its start before its model holds any tensor: the user's
 * setting, a real GPU, a remembered probe, or a probe now (engine/backend-probe.ts decides; this
 * wires the probe to the run's own model and first training batch). The page keeps the setting and
 * the remembered decisions in localStorage and sends them with each start.
 */
import { backendInfo, initBackend, noteChoice, switchBackend, webgpuAdapter, webgpuUnusable } from '../src/lib/engine/backend';
import { backendLabel, fastest, planBackend, preferenceOrder, probeBackends, probeChoice, probeKey, type BackendName } from '../src/lib/engine/backend-probe';
import type { TrainSession } from '../src/lib/engine/train/loop';
import { ClassifierSession } from '../src/lib/engine/classifier';
import { PretrainedSession } from '../src/lib/engine/pretrained';
import type { SafetensorsTensor } from '../src/lib/engine/io';
import type { TokenRows } from '../src/lib/engine/batching';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import type { RunConfig } from '../src/lib/shared/config';
import type { PhaseProgress } from '../src/lib/shared/phases';
import type { BackendChoice, BackendInfo, BackendMode, Run } from '../src/lib/shared/types';

export interface BackendPreference {
	mode: BackendMode;
	/** Decisions of earlier probes by their key (probeKey): the page remembers them. */
	remembered?: Record<string, BackendChoice>;
}

export interface ChoiceHooks {
	phase(p: PhaseProgress | null): void;
	stopped(): boolean;
	/** Free every tensor of the current backend (warm models) before the engine switches. */
	release(): void;
	startingTensors(cfg: RunConfig): Promise<Map<string, SafetensorsTensor>>;
}

interface RunData {
	run: Run;
	tokenizer: TextTokenizer;
	labels: string[];
	tokens: TokenRows;
}

/** Apply a setting outside a run: a pinned backend now; Automatic goes back to the default order. */
export async function applyBackendMode(mode: BackendMode, release: () => void): Promise<BackendInfo> {
	if (!backendInfo()) return initBackend(preferenceOrder(mode));
	const order = preferenceOrder(mode);
	const got = await switchBackend(order, release);
	if (mode === 'auto') return got;
	return noteChoice({
		mode,
		how: 'override',
		message: got.name === mode ? `${backendLabel(mode)}: set in Backend (the engine does not time the others).` : `${backendLabel(mode)} is set in Backend, but it did not start (${got.fallbackReason ?? 'unknown reason'}); the engine runs on ${backendLabel(got.name)}.`
	});
}

/** Settle the run's backend; returns the backend facts recorded with the run. */
export async function chooseBackend(p: RunData, train: number[], preference: BackendPreference | undefined, hooks: ChoiceHooks): Promise<BackendInfo> {
	const mode = preference?.mode ?? 'auto';
	if (!backendInfo()) await initBackend(preferenceOrder(mode));
	const cfg = p.run.config;
	const adapter = await webgpuAdapter();
	const key = probeKey(cfg, adapter?.adapter ?? 'no WebGPU');
	const rows = train.slice(0, cfg.train.batchSize);
	const plan = planBackend({ mode, webgpu: adapter, webgpuGone: webgpuUnusable() ?? undefined, key, remembered: preference?.remembered?.[key] });
	if (plan.kind === 'use' || !rows.length) {
		const order = plan.kind === 'use' ? plan.order : preferenceOrder('auto');
		const got = await switchBackend(order, hooks.release);
		const choice = plan.kind === 'use' ? plan.choice : { mode, how: 'gpu' as const, message: 'WebGPU: there are no training rows to time a step on.' };
		if (got.name !== order[0] && !(plan.kind === 'use' && plan.choice.how === 'gpu'))
			choice.message = `${backendLabel(order[0])} did not start (${got.fallbackReason ?? 'unknown reason'}); the engine runs on ${backendLabel(got.name)}.`;
		return noteChoice(choice);
	}

	const special = { padId: p.tokenizer.padId ?? 0, clsId: p.tokenizer.clsId };
	let tensors: Map<string, SafetensorsTensor> | undefined;
	const figures = await probeBackends(plan.backends, {
		use: async (name) => {
			const got = await switchBackend([name], hooks.release);
			if (got.name !== name) throw new Error(`${name} did not start`);
		},
		subject: async () => {
			const session: TrainSession & { dispose(): void } = cfg.pretrained
				? await PretrainedSession.fromPretrained(cfg, (tensors ??= await hooks.startingTensors(cfg)), special, p.labels)
				: ClassifierSession.create(cfg, special);
			try {
				const hb = session.batch(p.tokens, rows);
				return {
					step: async (i: number) => {
						session.trainStep(hb, 1e-3, i);
						await session.takeStats(); // reading back waits for the backend to finish the step
					},
					dispose: () => session.dispose()
				};
			} catch (e) {
				session.dispose();
				throw e;
			}
		},
		onBackend: (name: BackendName, i) =>
			hooks.phase({ phase: 'choosing-backend', done: i, total: plan.backends.length, unit: 'backends', note: `the WebGPU adapter is a software fallback; timing ${backendLabel(name)}` }),
		stopped: hooks.stopped
	});
	hooks.phase(null);
	const choice = probeChoice(figures, key);
	const best = fastest(figures);
	const got = await switchBackend(best ? preferenceOrder(best) : preferenceOrder('auto'), hooks.release);
	return noteChoice(choice.how === 'probe' && best && got.name !== best ? { ...choice, message: `${choice.message} ${backendLabel(best)} did not start again, so the engine runs on ${backendLabel(got.name)}.` } : choice);
}
