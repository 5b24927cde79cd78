// Series colours for charts with one line per class or per run: the theme's teal and warm first,
// then colours that stay apart for common colour-vision deficiencies (Okabe & Ito 2008).
export const SERIES_COLORS = ['#0f766e', '#c2410c', '#0072b2', '#cc79a7', '#e69f00', '#56b4e9', '#009e73', '#6b6b66'];

export function seriesColor(i: number): string {
	return SERIES_COLORS[i % SERIES_COLORS.length];
}
