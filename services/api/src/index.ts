export { createApi, type ApiDeps, type ApiOptions, type ApiService } from './app';
export { parseApiEnv, type ApiEnv } from './config';
export { hashApiKey } from './apikeys/api-key';
