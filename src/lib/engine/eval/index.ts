/**
 * Evaluation metrics: plain numbers in, plain numbers out, no tensors, so they run in a worker,
 * the page or Node alike. Each module matches a named reference implementation to ~1e-15
 * (scikit-learn 1.2.1, sacrebleu 2.6.0, rouge-score 0.1.2); tests/fixtures/metrics holds the
 * golden vectors and `npm run check:metrics` re-checks them.
 */
export * from './classification';
export * from './ranking';
export * from './calibration';
export * from './multilabel';
export * from './prf';
export * from './bleu';
export { nltkCorpusBleu } from './bleu-nltk';
export { tokenize13a } from './tokenizer-13a';
export * from './rouge';
export { porterStem } from './porter';
export * from './bootstrap';
export * from './lm';
