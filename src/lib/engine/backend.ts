/**
 * Choosing the compute backend: WebGPU, else WebGL, else the CPU, with the reason for every
 * fallback kept for the UI and recorded with each run. tfjs does not watch the GPU device, so the
 * `device.lost` and `uncapturederror` handlers are attached here, and a lost device is replaced:
 * the WebGPU backend is removed and registered again, which requests a new adapter and device
 * (WebGPU spec, "Device loss"; a lost device never comes back), else the engine moves to WebGL or
 * the CPU. Every tensor on a lost device is gone: the engine reloads from its last checkpoint.
 * Which backend a run trains on (a probe on a software adapter, the user's setting) is decided in
 * engine/backend-probe.ts; `switchBackend` moves the engine there at a run's start.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice, BackendInfo } from '../shared/types';
import { UserError } from '../shared/errors';

import type { BackendName } from './backend-probe';
import { reductionsFor, setReductions } from './ops/fused/reductions';

export type { BackendName };

/** How the GPU device ended: GPUDeviceLostInfo's reason ('destroyed' or 'unknown') and message. */
export interface DeviceLoss {
	reason: string;
	message: string;
	at: number;
}

let info: BackendInfo | null = null;
const gpuErrors: string[] = [];
/** The device tfjs computes on now, and how it was lost (null while it works). */
let current: GPUDevice | null = null;
let lost: DeviceLoss | null = null;
/** For tests: the next WebGPU restart fails, as on a machine whose GPU does not come back. */
let refuseRestart = false;
/** The WebGPU backend as it last started (its adapter), kept while the engine runs on another backend. */
let webgpu: BackendInfo | null = null;
/** The adapter as described without starting tfjs on it (the engine started on another backend). */
let adapterOnly: BackendInfo | null | undefined;
/** The device tfjs's WebGPU backend is bound to (it stays bound while the engine runs elsewhere). */
let webgpuDevice: GPUDevice | null = null;
/** Why WebGPU is not tried again on this page: its device was lost and no new one started. */
let webgpuGone: string | null = null;
/** Backends that failed to start on this page, with why: they are not tried again at every run's start. */
const failed = new Map<BackendName, string>();
/** Devices whose loss handlers are attached, and those that were lost (a lost device never comes back). */
const watched = new WeakSet<GPUDevice>();
const lostDevices = new WeakSet<GPUDevice>();

export function backendInfo(): BackendInfo | null {
	return info;
}

/** Errors the GPU reported on its own (device lost, validation errors), newest last. */
export function gpuErrorLog(): readonly string[] {
	return gpuErrors;
}

/** How the GPU device of the running backend was lost, or null while it works (or there is none). */
export function deviceLost(): DeviceLoss | null {
	return lost;
}

/**
 * Whether an error came from a lost device: the loss is recorded, or it is about to be. A read in
 * flight fails first ("Buffer was unmapped before mapping was resolved"), before the device's
 * `lost` promise settles, so on WebGPU any error waits a moment for it.
 */
export async function lostDeviceBehind(): Promise<DeviceLoss | null> {
	if (lost || !current) return lost;
	await Promise.race([current.lost, new Promise((r) => setTimeout(r, 500))]);
	// The `lost` handler runs in the same turn as the promise settles; let it.
	await Promise.resolve();
	return lost;
}

/** What a user reads when the device was lost mid-run: what happened, what is kept, what to do. */
export class DeviceLostError extends UserError {
	constructor(loss: DeviceLoss, step: number, checkpointStep: number | undefined) {
		const why = loss.reason === 'destroyed' ? 'it was destroyed' : loss.message || 'the browser or the graphics driver reset it';
		const kept =
			checkpointStep !== undefined
				? `The last complete checkpoint (step ${checkpointStep}) is kept: Resume continues from it on a new GPU device, or on WebGL or the CPU if the GPU does not start again.`
				: 'No checkpoint was saved before it: start the run again.';
		super(
			'device-lost',
			`The GPU device was lost after step ${step} (${why}), so training stopped. ${kept} If it happens again, close other tabs that use the GPU, update the graphics driver, or restart the browser.`
		);
		this.name = 'DeviceLostError';
	}
}

function watch(device: GPUDevice): void {
	current = device;
	lost = null;
	if (watched.has(device)) return;
	watched.add(device);
	device.lost.then((l) => {
		lostDevices.add(device);
		gpuErrors.push(`GPU device lost (${l.reason}): ${l.message}`);
		if (device === current) lost = { reason: l.reason ?? 'unknown', message: l.message, at: Date.now() };
	});
	device.addEventListener('uncapturederror', (e) => gpuErrors.push(`GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
}

function describeAdapter(adapter: GPUAdapter): BackendInfo {
	const a = adapter.info ?? ({} as GPUAdapterInfo);
	const fallback = Boolean((a as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
	const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ').trim();
	return {
		name: 'webgpu',
		adapter: name || 'WebGPU adapter',
		vendor: a.vendor,
		architecture: a.architecture,
		isFallbackAdapter: fallback || /swiftshader/i.test(name),
		maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize
	};
}

/**
 * How many dispatches tfjs-webgpu encodes before it submits (its default is 15). A fast-path
 * training step of a small model is 40–70 dispatches, so 64 makes it one or two submits plus the
 * logged loss's read-back, instead of five or six. Not unbounded: a buffer a disposed tensor held
 * goes back to tfjs's pool only when the work that used it is submitted, so the backward's
 * temporaries of a whole step would stay allocated until its end; 64 bounds that to a few layers'.
 */
export const SUBMIT_BATCH = 64;

async function tryWebGpu(): Promise<BackendInfo> {
	const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
	if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
	const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
	if (!adapter) throw new Error('no WebGPU adapter is available');
	await import('@tensorflow/tfjs-backend-webgpu');
	if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend failed to start');
	await tf.ready();
	tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', SUBMIT_BATCH);
	const backend = tf.backend() as unknown as { device?: GPUDevice };
	const device = backend.device;
	if (device) watch(device);
	webgpuDevice = device ?? null;
	const got = describeAdapter(adapter);
	if (device) got.maxStorageBufferBindingSize = device.limits.maxStorageBufferBindingSize;
	setReductions(reductionsFor(Boolean(got.isFallbackAdapter)));
	webgpu = { ...got };
	return got;
}

async function trySimple(name: 'webgl' | 'cpu'): Promise<BackendInfo> {
	if (name === 'webgl' && typeof OffscreenCanvas === 'undefined' && typeof document === 'undefined')
		throw new Error('WebGL needs a canvas, and none is available here');
	if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to start`);
	await tf.ready();
	// Off WebGPU, a loss of its device is not this backend's: nothing to watch or wait for.
	current = null;
	lost = null;
	return { name, adapter: name === 'cpu' ? 'JavaScript (CPU)' : 'WebGL' };
}

/**
 * The WebGPU adapter (is it a software fallback?), whether or not the engine runs on it: as it
 * started, else asked of the browser without starting tfjs on it. Null without WebGPU.
 */
export async function webgpuAdapter(): Promise<BackendInfo | null> {
	if (webgpu) return webgpu;
	if (adapterOnly !== undefined) return adapterOnly;
	try {
		const adapter = await (globalThis.navigator as Navigator | undefined)?.gpu?.requestAdapter({ powerPreference: 'high-performance' });
		adapterOnly = adapter ? describeAdapter(adapter) : null;
	} catch {
		adapterOnly = null;
	}
	return adapterOnly;
}

/** Why WebGPU is not used again on this page (its device was lost for good), or null. */
export function webgpuUnusable(): string | null {
	return webgpuGone;
}

/**
 * Move the engine to the first backend of `order` that starts (the active one stays as it is,
 * with what it says about a recovery). Tensors stay on the backend they were made on: call it only
 * when no live model holds tensors (a run's start, before its model is created or reloaded);
 * `beforeSwitch` runs once, just before the engine leaves the active backend (to free its tensors).
 */
export async function switchBackend(order: readonly BackendName[], beforeSwitch?: () => void): Promise<BackendInfo> {
	let leaving = beforeSwitch;
	const reasons: string[] = [];
	for (const name of order) {
		const gone = name === 'webgpu' && webgpuGone ? webgpuGone : failed.get(name);
		if (gone) {
			reasons.push(`${name}: ${gone}`);
			continue;
		}
		if (info?.name === name && tf.getBackend() === name) {
			if (reasons.length) info = { ...info, fallbackReason: reasons.join('; ') };
			return info;
		}
		leaving?.();
		leaving = undefined;
		try {
			// tfjs keeps its WebGPU backend bound to the device it started with: a lost one needs a restart.
			const got = name === 'webgpu' ? (webgpuDevice && lostDevices.has(webgpuDevice) ? await restartWebGpu() : await tryWebGpu()) : await trySimple(name);
			if (reasons.length) got.fallbackReason = reasons.join('; ');
			info = got;
			return got;
		} catch (e) {
			failed.set(name, (e as Error).message);
			reasons.push(`${name}: ${(e as Error).message}`);
		}
	}
	throw new Error(`No compute backend could start (${reasons.join('; ')}).`);
}

/** Record how the active backend was chosen; it goes with the run's backend facts. */
export function noteChoice(choice: BackendChoice): BackendInfo {
	if (!info) throw new Error('No backend has started.');
	info = { ...info, choice };
	return info;
}

/** Pick the first backend that starts, in order of preference. */
export async function initBackend(prefer: BackendName[] = ['webgpu', 'webgl', 'cpu']): Promise<BackendInfo> {
	if (info) return info;
	const reasons: string[] = [];
	for (const name of prefer) {
		try {
			const got = name === 'webgpu' ? await tryWebGpu() : await trySimple(name);
			if (reasons.length) got.fallbackReason = reasons.join('; ');
			info = got;
			return got;
		} catch (e) {
			failed.set(name, (e as Error).message);
			reasons.push(`${name}: ${(e as Error).message}`);
		}
	}
	throw new Error(`No compute backend could start (${reasons.join('; ')}).`);
}

/**
 * The WebGPU backend again, on a new device: tfjs keeps one backend instance per name, bound to
 * its device, so the instance is removed (its buffers released) and its factory registered anew;
 * starting it requests a new adapter and device. The fused kernels stay registered by name.
 */
async function restartWebGpu(): Promise<BackendInfo> {
	if (refuseRestart) {
		refuseRestart = false;
		throw new Error('a test refused the new device');
	}
	const factory = tf.findBackendFactory('webgpu');
	if (!factory) throw new Error('the WebGPU backend is not registered');
	// Its buffers were on the lost device; releasing them cannot fail the restart.
	try {
		tf.removeBackend('webgpu');
	} catch {
		/* already gone */
	}
	tf.registerBackend('webgpu', factory, 3);
	return tryWebGpu();
}

const label = (name: string) => (name === 'webgpu' ? 'WebGPU' : name === 'webgl' ? 'WebGL' : 'the CPU');

/**
 * After the GPU device was lost: a new WebGPU device, else WebGL, else the CPU. The returned info
 * says in `recovered` what happened and which backend the engine now runs on. The caller must have
 * dropped every tensor of the lost device. Without a loss, the backend as it is.
 */
export async function recoverBackend(): Promise<BackendInfo> {
	const loss = lost;
	if (!loss || !info || info.name !== 'webgpu') return info ?? initBackend();
	const reasons: string[] = [];
	try {
		const got = await restartWebGpu();
		got.recovered = `The GPU device was lost (${loss.reason}); the engine started a new WebGPU device and now runs on it.`;
		info = got;
		return got;
	} catch (e) {
		reasons.push(`webgpu: ${(e as Error).message}`);
	}
	for (const name of ['webgl', 'cpu'] as const) {
		try {
			const got = await trySimple(name);
			got.fallbackReason = reasons.join('; ');
			got.recovered = `The GPU device was lost (${loss.reason}) and WebGPU did not start again (${reasons.join('; ')}); the engine now runs on ${label(name)}, which is slower. Reload the page to try the GPU again.`;
			webgpuGone = 'the GPU device was lost and WebGPU did not start again: reload the page to try the GPU again.';
			info = got;
			current = null;
			lost = null;
			return got;
		} catch (e) {
			reasons.push(`${name}: ${(e as Error).message}`);
		}
	}
	throw new Error(`The GPU device was lost and no compute backend could start again (${reasons.join('; ')}). Reload the page.`);
}

/**
 * For tests: destroy the GPU device under tfjs (as a driver reset or the browser would take it
 * away). With `refuseNewDevice`, the next WebGPU restart fails, so recovery falls back to WebGL or
 * the CPU. Returns false when the engine does not run on WebGPU.
 */
export function destroyDeviceForTest(refuseNewDevice = false): boolean {
	const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
	if (!device || info?.name !== 'webgpu') return false;
	refuseRestart = refuseNewDevice;
	device.destroy();
	return true;
}

/** Bytes tfjs holds on the GPU (WebGPU, WebGL) where the backend reports them: for leak checks. */
export function gpuBytes(): { numBytesInGPU?: number } {
	const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
	return m.numBytesInGPU === undefined ? {} : { numBytesInGPU: m.numBytesInGPU };
}
