export { createIngestor, type IngestorDeps, type IngestorOptions, type IngestorService } from './ingestor';
export { parseIngestorEnv, type IngestorEnv } from './config';
