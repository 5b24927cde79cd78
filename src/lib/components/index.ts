// Whetstone's shared presentational components: props in, callbacks out.
export { default as ConfusionMatrix } from './ConfusionMatrix.svelte';
export { default as CountBars } from './CountBars.svelte';
export { default as DataTable } from './DataTable.svelte';
export { default as ErrorBox } from './ErrorBox.svelte';
export { default as Field } from './Field.svelte';
export { default as FileDrop } from './FileDrop.svelte';
export { default as LineChart } from './LineChart.svelte';
export { default as MetricTile } from './MetricTile.svelte';
export { default as ProbabilityBars } from './ProbabilityBars.svelte';
export { default as ProgressBar } from './ProgressBar.svelte';
export { default as RocChart } from './RocChart.svelte';
export { default as ReliabilityDiagram } from './ReliabilityDiagram.svelte';
export { SERIES_COLORS, seriesColor } from './palette';
export { default as AnswerText } from './AnswerText.svelte';
export { default as PhaseStatus } from './PhaseStatus.svelte';
