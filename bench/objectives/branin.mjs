// Branin–Hoo (Dixon & Szegő 1978), the classic HPO test function: two parameters, three global
// minima of 0.397887 at (−π, 12.275), (π, 2.275), (9.42478, 2.475). To minimise.
export const space = {
	x1: { type: 'float', low: -5, high: 10 },
	x2: { type: 'float', low: 0, high: 15 }
};

export const optimum = 0.397887;

export function evaluate({ x1, x2 }) {
	const a = 1;
	const b = 5.1 / (4 * Math.PI ** 2);
	const c = 5 / Math.PI;
	const r = 6;
	const s = 10;
	const t = 1 / (8 * Math.PI);
	return a * (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * Math.cos(x1) + s;
}
