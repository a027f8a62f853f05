/**
 * Evaluate attribution methods: coherence, selectivity, ROAR, KAR, ROAD, sanity checks and Quantus-style faithfulness, robustness, randomization, complexity and localization metrics, with an HTML report.
 *
 * @packageDocumentation
 * @module @whitebox/metrics
 */
export * from './data.js';
export * from './stats.js';
export * from './explainer.js';
export * from './selectivity.js';
export * from './road.js';
export * from './roar.js';
export * from './sanity.js';
export * from './coherence.js';
export * from './render.js';
export * from './cache.js';
export * from './report.js';
export * from './pipeline.js';
export * from './retrain.js';
export * from './cascade.js';
export * from './metric.js';
export * from './similarity.js';
export * from './slic.js';
export * from './baselines.js';
export * from './faithfulness-correlation.js';
export * from './perturbation-curves.js';
export * from './infidelity.js';
export * from './irof.js';
export * from './robustness.js';
export * from './randomization.js';
export * from './complexity.js';
export * from './localization.js';
export * from './evaluate-metrics.js';
export * from './metrics-report.js';
