export {
  createIngestor,
  DEFAULT_RETENTION,
  DEFAULT_THROUGHPUT,
  type IngestorDeps,
  type IngestorOptions,
  type IngestorService,
  type ThroughputOptions,
} from './ingestor';
export { parseIngestorEnv, type IngestorEnv } from './config';
export { LATENCY_BUCKET_BOUNDS, LATENCY_BUCKET_COUNT, addHistograms, histogramOf, latencyBucket, latencyPercentile } from '@apg/contracts';
export { OTHER_ERROR_CLASS, UNSPECIFIED_ERROR_CLASS } from './call-result-store';
export { partitionName, retentionHorizon } from './retention-plan';
