export { createApi, type ApiDeps, type ApiOptions, type ApiService } from './app';
export { parseApiEnv, type ApiEnv } from './config';
export { hashApiKey } from './apikeys/api-key';
export { ReportProducer, flushReports, partitionOfKey, type PendingReport, type SendMessages } from './gateway/report-producer';
export { ApiMetrics, type ApiMetricsOptions } from './metrics/api-metrics';
export { ReportSpool, SpoolFullError, type ReportSpoolOptions as ReportSpoolFileOptions, type SpoolBatch, type SpoolDropReason, type SpoolFsync } from './spool/report-spool';
export { SpoolLockedError } from './spool/spool-lock';
export { encodeFrame, type SpooledReport } from './spool/spool-record';
export type { ReportSpoolOptions } from './app';
