/**
 * Choosing the compute backend: WebGPU, else WebGL, else the CPU, with the reason for every
 * fallback kept for the UI and recorded with each run. tfjs does not watch the GPU device, so the
 * `device.lost` and `uncapturederror` handlers are attached here.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../shared/types';

export type BackendName = 'webgpu' | 'webgl' | 'cpu';

let info: BackendInfo | null = null;
const gpuErrors: string[] = [];

export function backendInfo(): BackendInfo | null {
	return info;
}

/** Errors the GPU reported on its own (device lost, validation errors), newest last. */
export function gpuErrorLog(): readonly string[] {
	return gpuErrors;
}

async function tryWebGpu(): Promise<BackendInfo> {
	const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
	if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
	const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
	if (!adapter) throw new Error('no WebGPU adapter is available');
	await import('@tensorflow/tfjs-backend-webgpu');
	if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend failed to start');
	await tf.ready();
	const a = adapter.info ?? ({} as GPUAdapterInfo);
	const fallback = Boolean((a as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
	const backend = tf.backend() as unknown as { device?: GPUDevice };
	const device = backend.device;
	if (device) {
		device.lost.then((l) => gpuErrors.push(`GPU device lost (${l.reason}): ${l.message}`));
		device.addEventListener('uncapturederror', (e) => gpuErrors.push(`GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
	}
	const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ').trim();
	return {
		name: 'webgpu',
		adapter: name || 'WebGPU adapter',
		vendor: a.vendor,
		architecture: a.architecture,
		isFallbackAdapter: fallback || /swiftshader/i.test(name),
		maxStorageBufferBindingSize: device?.limits.maxStorageBufferBindingSize ?? adapter.limits.maxStorageBufferBindingSize
	};
}

async function trySimple(name: 'webgl' | 'cpu'): Promise<BackendInfo> {
	if (name === 'webgl' && typeof OffscreenCanvas === 'undefined' && typeof document === 'undefined')
		throw new Error('WebGL needs a canvas, and none is available here');
	if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to start`);
	await tf.ready();
	return { name, adapter: name === 'cpu' ? 'JavaScript (CPU)' : 'WebGL' };
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
			reasons.push(`${name}: ${(e as Error).message}`);
		}
	}
	throw new Error(`No compute backend could start (${reasons.join('; ')}).`);
}
