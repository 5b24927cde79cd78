/**
 * The yardstick for bench:step (issue 10): a GPT written the way anyone would write one with
 * stock tfjs ops and no engine of ours — matMul, softmax, layer norm by tf.moments, GELU (tanh
 * form), an additive causal mask, embedding gather, tf.losses.softmaxCrossEntropy — trained with
 * tf.variableGrads and tf.train.adam. No tf.layers, no fused kernels, no clipping, no dropout.
 * It follows nanoGPT's model.py (pre-LN blocks, learned positions, the head tied to the token
 * embedding, N(0, 0.02) init), so it has the studio models' shape and roughly their op count.
 *
 * It lives in bench/ and reaches the engine worker's bundle only through the dynamic import in
 * src/lib/engine/bench-step.ts, so the studio never loads it unless someone benchmarks.
 */
import * as tf from '@tensorflow/tfjs';

export interface StockGptShape {
	vocab: number;
	/** Context length T. */
	seq: number;
	/** Residual width C. */
	width: number;
	heads: number;
	layers: number;
}

type Phase = 'forward' | 'backward' | 'optimizer' | 'other';

interface Block {
	ln1g: tf.Variable; ln1b: tf.Variable;
	attnW: tf.Variable; attnB: tf.Variable; // (C, 3C), (3C)
	projW: tf.Variable; projB: tf.Variable; // (C, C), (C)
	ln2g: tf.Variable; ln2b: tf.Variable;
	fcW: tf.Variable; fcB: tf.Variable; // (C, 4C), (4C)
	outW: tf.Variable; outB: tf.Variable; // (4C, C), (C)
}

export class StockGpt {
	readonly wte: tf.Variable; // (V, C), also the head
	readonly wpe: tf.Variable; // (T, C)
	readonly blocks: Block[];
	readonly lnfG: tf.Variable;
	readonly lnfB: tf.Variable;
	readonly optimizer: tf.AdamOptimizer;
	/** (1, 1, T, T): 0 where a position may look, -1e9 where it may not. */
	private readonly maskBias: tf.Tensor;

	constructor(
		readonly shape: StockGptShape,
		opts: { seed?: number; learningRate?: number } = {},
		/** Told when the step moves between phases (bench:step attributes GPU dispatches by it). */
		private readonly mark: (p: Phase) => void = () => {}
	) {
		const { vocab: V, seq: T, width: C, layers } = shape;
		if (C % shape.heads) throw new Error(`width ${C} is not a multiple of heads ${shape.heads}`);
		let seed = opts.seed ?? 1;
		// tidy: a variable shares its initial tensor's data, and the initial tensor would otherwise stay counted.
		const normal = (s: number[], name: string) => tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 0.02, 'float32', seed++), true, name));
		const fill = (s: number[], v: number, name: string) => tf.tidy(() => tf.variable(tf.fill(s, v), true, name));
		const id = `stockgpt${Math.random().toString(36).slice(2, 8)}`; // variable names are global in tfjs
		this.wte = normal([V, C], `${id}.wte`);
		this.wpe = normal([T, C], `${id}.wpe`);
		this.blocks = Array.from({ length: layers }, (_, l) => {
			const p = `${id}.h${l}`;
			return {
				ln1g: fill([C], 1, `${p}.ln1g`), ln1b: fill([C], 0, `${p}.ln1b`),
				attnW: normal([C, 3 * C], `${p}.attnW`), attnB: fill([3 * C], 0, `${p}.attnB`),
				projW: normal([C, C], `${p}.projW`), projB: fill([C], 0, `${p}.projB`),
				ln2g: fill([C], 1, `${p}.ln2g`), ln2b: fill([C], 0, `${p}.ln2b`),
				fcW: normal([C, 4 * C], `${p}.fcW`), fcB: fill([4 * C], 0, `${p}.fcB`),
				outW: normal([4 * C, C], `${p}.outW`), outB: fill([C], 0, `${p}.outB`)
			};
		});
		this.lnfG = fill([C], 1, `${id}.lnfG`);
		this.lnfB = fill([C], 0, `${id}.lnfB`);
		this.maskBias = tf.tidy(() => tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9).reshape([1, 1, T, T]));
		this.optimizer = tf.train.adam(opts.learningRate ?? 1e-3);
	}

	get variables(): tf.Variable[] {
		return [this.wte, this.wpe, ...this.blocks.flatMap((b) => Object.values(b) as tf.Variable[]), this.lnfG, this.lnfB];
	}

	get numParams(): number {
		return this.variables.reduce((s, v) => s + v.size, 0);
	}

	private layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
		const { mean, variance } = tf.moments(x, -1, true);
		return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b);
	}

	/** GPT-2's GELU, the tanh approximation. */
	private gelu(x: tf.Tensor): tf.Tensor {
		return x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
	}

	/** x @ W + b over the last axis of (B, T, in). */
	private linear(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor {
		const [B, T, n] = x.shape;
		return x.reshape([B * T, n]).matMul(w).add(b).reshape([B, T, w.shape[1]]);
	}

	private attention(x: tf.Tensor, blk: Block): tf.Tensor {
		const [B, T, C] = x.shape as [number, number, number];
		const H = this.shape.heads;
		const D = C / H;
		const qkv = this.linear(x, blk.attnW as tf.Tensor2D, blk.attnB); // (B, T, 3C)
		const [q, k, v] = tf.split(qkv, 3, -1).map((t) => t.reshape([B, T, H, D]).transpose([0, 2, 1, 3])); // (B, H, T, D)
		const att = tf.softmax(q.matMul(k, false, true).mul(1 / Math.sqrt(D)).add(this.maskBias), -1); // (B, H, T, T)
		const y = att.matMul(v).transpose([0, 2, 1, 3]).reshape([B, T, C]); // (B, T, C)
		return this.linear(y, blk.projW as tf.Tensor2D, blk.projB);
	}

	private mlp(x: tf.Tensor, blk: Block): tf.Tensor {
		return this.linear(this.gelu(this.linear(x, blk.fcW as tf.Tensor2D, blk.fcB)), blk.outW as tf.Tensor2D, blk.outB);
	}

	/** (B, T) token ids -> (B, T, V) logits. */
	forward(ids: tf.Tensor2D): tf.Tensor3D {
		const [B, T] = ids.shape;
		const C = this.shape.width;
		let x = tf.gather(this.wte, ids.flatten()).reshape([B, T, C]).add(this.wpe.slice([0, 0], [T, C])); // (B, T, C)
		for (const blk of this.blocks) {
			x = x.add(this.attention(this.layerNorm(x, blk.ln1g, blk.ln1b), blk));
			x = x.add(this.mlp(this.layerNorm(x, blk.ln2g, blk.ln2b), blk));
		}
		x = this.layerNorm(x, this.lnfG, this.lnfB);
		return x.reshape([B * T, C]).matMul(this.wte, false, true).reshape([B, T, this.shape.vocab]) as tf.Tensor3D; // (B, T, V)
	}

	/** Mean next-token cross-entropy of (B, T) inputs against (B, T) targets. */
	loss(ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
		const logits = this.forward(ids);
		const V = this.shape.vocab;
		const onehot = tf.oneHot(targets.flatten(), V);
		return tf.losses.softmaxCrossEntropy(onehot, logits.reshape([-1, V])) as tf.Scalar;
	}

	/** One Adam step on a batch; returns the batch's loss (before the update), on the GPU. */
	step(ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
		return tf.tidy(() => {
			this.mark('forward');
			const { value, grads } = tf.variableGrads(() => {
				const l = this.loss(ids, targets);
				this.mark('backward'); // variableGrads runs the backward as soon as this returns
				return l;
			}, this.variables);
			this.mark('optimizer');
			this.optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
			this.mark('other');
			return value;
		});
	}

	dispose(): void {
		tf.dispose(this.variables);
		this.maskBias.dispose();
		this.optimizer.dispose();
	}
}
