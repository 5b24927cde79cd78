// A shifted quadratic bowl in four dimensions, off-centre so a sampler gains nothing from the middle
// of the box; minimum 0 at x = (1.5, −2.5, 3.2, −0.8). To minimise.
export const shift = [1.5, -2.5, 3.2, -0.8];

export const space = Object.fromEntries(shift.map((_, i) => [`x${i}`, { type: 'float', low: -5, high: 5 }]));

export const optimum = 0;

export function evaluate(params) {
	return shift.reduce((s, c, i) => s + (params[`x${i}`] - c) ** 2, 0);
}
