/**
 * The Backend setting (Automatic, or a pinned WebGPU / WebGL / CPU) and the decisions of earlier
 * backend probes, kept in this browser's localStorage: a probe's result belongs to this machine's
 * adapter, not to a project. `?backend=webgpu` in the page's URL sets it too (the e2e tests pin
 * WebGPU that way). See engine/backend-probe.ts for how Automatic decides.
 */
import { isBackendMode } from '../engine/backend-probe';
import type { BackendChoice, BackendMode } from '../shared/types';

const MODE_KEY = 'whetstone.backend';
const DECISIONS_KEY = 'whetstone.backend.decisions';
/** Probe decisions kept (newest first): one per model shape and adapter. */
const MAX_DECISIONS = 20;

export function storedBackendMode(): BackendMode {
	try {
		const v = globalThis.localStorage?.getItem(MODE_KEY);
		return isBackendMode(v) ? v : 'auto';
	} catch {
		return 'auto';
	}
}

export function storeBackendMode(mode: BackendMode): void {
	try {
		if (mode === 'auto') localStorage.removeItem(MODE_KEY);
		else localStorage.setItem(MODE_KEY, mode);
	} catch {
		/* private mode: the setting lasts for this page only */
	}
}

/** `?backend=` in the page's URL sets the Backend setting and is remembered (the layout calls this first). */
export function rememberBackendFromUrl(): void {
	const v = typeof location === 'undefined' ? null : new URL(location.href).searchParams.get('backend');
	if (isBackendMode(v)) storeBackendMode(v);
}

export function rememberedDecisions(): Record<string, BackendChoice> {
	try {
		const parsed = JSON.parse(globalThis.localStorage?.getItem(DECISIONS_KEY) ?? '{}');
		return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, BackendChoice>) : {};
	} catch {
		return {};
	}
}

/** Keep a probe's decision under its key (the newest `MAX_DECISIONS` only). */
export function rememberDecision(choice: BackendChoice): void {
	if (choice.how !== 'probe' || !choice.key) return;
	const kept = Object.entries(rememberedDecisions()).filter(([k]) => k !== choice.key);
	const next = Object.fromEntries([[choice.key, choice], ...kept].slice(0, MAX_DECISIONS));
	try {
		localStorage.setItem(DECISIONS_KEY, JSON.stringify(next));
	} catch {
		/* full or private: the next run of this shape probes again */
	}
}

/** Forget every probe decision (the next run of each shape times the backends again). */
export function forgetDecisions(): void {
	try {
		localStorage.removeItem(DECISIONS_KEY);
	} catch {
		/* nothing stored */
	}
}
