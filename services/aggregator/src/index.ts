export { createAggregator, type AggregatorDeps, type AggregatorOptions, type AggregatorService } from './aggregator';
export { parseAggregatorEnv, type AggregatorEnv } from './config';
export { HealthStore } from './health-store';
