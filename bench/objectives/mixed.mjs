// A training-like objective over Optuna's three distributions: a learning rate on a log scale (best
// at 3e-3), an integer layer count (best at 3) and a categorical optimizer (adamw best). To minimise.
export const space = {
	lr: { type: 'float', low: 1e-5, high: 1, log: true },
	layers: { type: 'int', low: 1, high: 8 },
	optimizer: { type: 'categorical', choices: ['sgd', 'adam', 'adamw'] }
};

export const optimum = 0;

export function evaluate({ lr, layers, optimizer }) {
	const penalty = { sgd: 1, adam: 0.3, adamw: 0 }[optimizer];
	return (Math.log10(lr) - Math.log10(3e-3)) ** 2 + 0.2 * (layers - 3) ** 2 + penalty;
}
