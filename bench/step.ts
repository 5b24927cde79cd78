/**
 * Dispatches and time per training step (issue 10), in headless Chromium on WebGPU (SwiftShader
 * where there is no GPU): the engine's fast path, its reference path and a stock tfjs GPT
 * (bench/stock-gpt.ts) trained interleaved in one run at the same shape, with GPU dispatches per
 * step split by phase, submits and copies per step, ms per step (min and median), tokens/s and the
 * ratios to the stock GPT. Then a GPT-2-small-sized (124M) step, or the adapter's refusal, and
 * greedy generation tokens/s with and without the KV cache. Prints figures; asserts nothing.
 *
 *   npm run bench:step -- --model scratch|gpt2|llama|bert --layers 2 --width 128 --heads 4 --vocab 512
 *     --seq 64 --batch 4 [--lora] [--json] [--steps 5] [--warmup 2] [--large lora|full|off] [--gen 24]
 *     [--parts steps,large,generate,profile] [--matrix] [--bind-limit-mib 128] [--compiled]
 *
 * --parts profile (not run unless asked) times one step of the fast path and of the stock GPT
 * dispatch by dispatch with GPU timestamps and prints where the time goes, by kernel.
 *
 * --matrix runs the README's set in one browser session (gpt2 and gpt2 LoRA at --layers, gpt2 at
 * 1 layer, the from-scratch model at --layers and at 1, a BERT classifier and its LoRA at --layers
 * and at 1), then one summary table. --model bert is a two-label BertForSequenceClassification
 * (random weights, no dropout unless --dropout); its yardstick is the same stock GPT.
 *
 * The engine side is src/lib/engine/bench-step.ts, reached through `whetstone.engine.benchStep`.
 */
import { formatStepTable, formatSummaryTable, parseStepArgs, shapesFor, type EngineResult, type StepBenchRequest, type StepBenchResult, type StepShape } from '../src/lib/engine/bench-step';
import { openStudio } from './browser';

const args = (() => {
	try {
		return parseStepArgs(process.argv.slice(2));
	} catch (e) {
		console.error((e as Error).message);
		process.exit(2);
	}
})();
const { json, steps, warmup, large, gen, parts, bindLimitMib, compiled } = args;
const shapes = shapesFor(args);
/** Generation runs at the shape asked for (--matrix or not). */
const genShape = shapesFor({ ...args, matrix: false })[0];
const log = (...xs: unknown[]) => {
	if (!json) console.log(...xs);
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

const { page, close } = await openStudio('/train?backend=webgpu', 4395);
const call = (req: StepBenchRequest) => page.evaluate((r) => (globalThis as any).whetstone.engine.benchStep(r), req) as Promise<StepBenchResult>;
try {
	const done: { shape: StepShape; engines: EngineResult[] }[] = [];
	for (const shape of parts.includes('steps') ? shapes : []) {
		const s = await call({ part: 'steps', shape, steps, warmup });
		if (s.part !== 'steps') throw new Error('unexpected answer');
		const r = s.report;
		if (!done.length) log(`backend: ${r.backend} · ${r.adapter}${r.isFallbackAdapter ? ' (software adapter)' : ''}`);
		log(
			`shape: ${shape.model}${shape.lora ? ' LoRA' : ''}, ${shape.layers} layer(s), width ${shape.width}, ${shape.heads} heads, vocabulary ${shape.vocab}, context ${shape.seq}, batch ${shape.batch}; ` +
				`${warmup} warm-up step(s) each, then ${steps} interleaved rounds; ${shape.dropout ? `dropout ${shape.dropout} (the stock GPT none)` : 'no dropout'}; each step reads its loss back`
		);
		log('');
		log(formatStepTable(r.engines));
		log('');
		for (const e of r.engines)
			log(
				`${e.label}: ${(e.params / 1e6).toFixed(2)} M parameters (${(e.trainableParams / 1e6).toFixed(3)} M trained), loss ${e.lossFirst.toFixed(3)} → ${e.lossLast.toFixed(3)}, ${e.writesPerStep} queue writes/step, ` +
					`${e.encodeMs !== undefined ? `${e.encodeMs.toFixed(2)} ms to encode a step (median), ` : ''}ms per round: ${e.ms.map((m) => m.toFixed(0)).join(' ')}`
			);
		for (const e of r.engines) {
			const c = e.compiled;
			if (!c) continue;
			const st = c.stats;
			log(
				`compiled step: ${c.compiled} of ${c.kinds} kind(s) compiled, ${c.replays} step(s) replayed` +
					(st ? `; the plan: ${st.dispatches} dispatches, ${st.copies} copies, ${st.writes} data writes (${st.dynamicWrites} change per step), ${st.fixedGroups} bind groups made once, ${st.buffers} buffers of its own (${(st.bytes / 2 ** 20).toFixed(2)} MiB)` : '') +
					(c.refused.length ? `; refused: ${c.refused.join('; ')}` : '')
			);
		}
		log(`tensors leaked by the bench: ${r.tensorsLeaked}`);
		if (json)
			for (const e of r.engines)
				console.log(JSON.stringify({ engine: e.engine, label: e.label, backend: r.backend, adapter: r.adapter, ...shape, dispatchesPerStep: e.dispatchesPerStep, split: e.split, submitsPerStep: e.submitsPerStep, copiesPerStep: e.copiesPerStep, writesPerStep: e.writesPerStep, msPerStep: e.msPerStep, ms: e.ms, tokensPerSec: e.tokensPerSec, ratioToStock: e.ratioToStock, params: e.params, trainableParams: e.trainableParams, lossFirst: e.lossFirst, lossLast: e.lossLast, encodeMs: e.encodeMs, compiled: e.compiled }));
		done.push({ shape, engines: r.engines });
		log('');
	}
	if (done.length > 1) {
		log('all shapes:');
		log(formatSummaryTable(done));
	}

	if (large !== 'off' && parts.includes('large')) {
		log('');
		log(`GPT-2 small (124M, vocabulary 50257, 12 layers, width 768), ${large === 'lora' ? 'LoRA' : 'full fine-tuning'}, batch 1 × 64 tokens, fast path:`);
		if (bindLimitMib) log(`  (pretending the adapter binds at most ${bindLimitMib} MiB: a vocabulary table over it is read in parts)`);
		const l = await call({ part: 'large', method: large, batch: 1, seq: 64, steps: 2, compiled, ...(bindLimitMib ? { bindLimitBytes: bindLimitMib * 2 ** 20 } : {}) });
		if (l.part !== 'large') throw new Error('unexpected answer');
		const g = l.report;
		const limit = g.limitBytes ? `the adapter's maxStorageBufferBindingSize is ${mib(g.limitBytes)} (${g.limitBytes} bytes)` : 'the adapter reports no storage-buffer binding limit';
		if (g.refused || !g.result) log(`  not run: ${g.refused}\n  (${limit})`);
		else {
			const e = g.result;
			log(`  ${(g.params / 1e6).toFixed(1)} M parameters (${(g.trainableParams / 1e6).toFixed(2)} M trained); ${limit}`);
			log(`  ${e.dispatchesPerStep} dispatches/step (fwd ${e.split.forward} / bwd ${e.split.backward} / clip ${e.split.clip} / opt ${e.split.optimizer} / other ${e.split.other}), ${e.submitsPerStep} submits, ${e.copiesPerStep} copies; ms/step min ${e.msPerStep.min.toFixed(0)} · median ${e.msPerStep.median.toFixed(0)}; ${e.tokensPerSec.toFixed(1)} tokens/s; loss ${e.lossFirst.toFixed(3)} → ${e.lossLast.toFixed(3)}`);
			if (e.encodeMs !== undefined) log(`  ${e.encodeMs.toFixed(1)} ms to encode a step (median of the measured steps)${compiled ? ', every one a replay' : ''}`);
			const c = e.compiled;
			if (c?.stats) log(`  compiled: ${c.replays} replays; the plan: ${c.stats.dispatches} dispatches, ${c.stats.copies} copies, ${c.stats.writes} data writes (${c.stats.dynamicWrites} per step), ${c.stats.buffers} buffers of its own (${(c.stats.bytes / 2 ** 20).toFixed(1)} MiB)`);
			else if (c?.refused.length) log(`  compiled: refused (${c.refused.join('; ')})`);
		}
		if (json) console.log(JSON.stringify({ engine: compiled ? 'compiled' : 'fast', model: 'gpt2-small', method: large, encodeMs: g.result?.encodeMs, compiled: g.result?.compiled, backend: g.backend, batch: g.batch, seq: g.seq, limitBytes: g.limitBytes, refused: g.refused, ...(g.result ? { dispatchesPerStep: g.result.dispatchesPerStep, split: g.result.split, submitsPerStep: g.result.submitsPerStep, copiesPerStep: g.result.copiesPerStep, msPerStep: g.result.msPerStep, tokensPerSec: g.result.tokensPerSec } : {}) }));
	}

	for (const shape of parts.includes('profile') ? shapes : []) {
		const q = await call({ part: 'profile', shape, warmup });
		if (q.part !== 'profile') throw new Error('unexpected answer');
		const r = q.report;
		log('');
		log(`GPU time by kernel, one step after ${warmup} warm-up: ${shape.model}${shape.lora ? ' LoRA' : ''}, ${shape.layers} layer(s), width ${shape.width}, context ${shape.seq}, batch ${shape.batch}${r.timestamps ? '' : ' (this device has no timestamp-query: every time reads 0)'}`);
		for (const e of r.engines) {
			log(`  ${e.label}: ${e.gpuMs.toFixed(1)} ms of GPU time in ${e.dispatches} dispatches`);
			for (const k of e.kernels.slice(0, e.engine === "stock" ? 8 : 40)) log(`    ${k.kernel.padEnd(34)} ${String(k.calls).padStart(4)} × · ${k.ms.toFixed(1).padStart(7)} ms · ${((100 * k.ms) / (e.gpuMs || 1)).toFixed(0).padStart(3)}%`);
		}
		if (json) for (const e of r.engines) console.log(JSON.stringify({ engine: e.engine, profile: true, ...shape, timestamps: r.timestamps, gpuMs: e.gpuMs, dispatches: e.dispatches, kernels: e.kernels }));
	}

	if (gen > 0 && parts.includes('generate')) {
		log('');
		const q = await call({ part: 'generate', shape: genShape, newTokens: gen });
		if (q.part !== 'generate') throw new Error('unexpected answer');
		const g = q.report;
		log(`generation, greedy, batch 1, ${g.promptTokens}-token prompt, ${gen} new tokens: ${g.model}`);
		for (const f of g.figures)
			log(`  ${f.kvCache ? 'with the KV cache   ' : 'recomputing (no KV cache)'}: ${f.tokensPerSec.toFixed(1)} tokens/s, ${f.dispatchesPerToken.toFixed(0)} dispatches/token, ${f.submitsPerToken.toFixed(1)} submits/token`);
		if (json) for (const f of g.figures) console.log(JSON.stringify({ engine: 'generate', model: g.model, backend: g.backend, ...f }));
	}
} finally {
	await close();
}
