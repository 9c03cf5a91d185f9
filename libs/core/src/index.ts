/**
 * `@apg/core`: the pure decision core — sliding windows and the breaker state machine.
 * No I/O, no clock, no dependencies: every function takes `now` (epoch ms) and plain data.
 * Config fields carry their defaults as TSDoc `@default` tags on the interfaces re-exported here.
 */
export {
  DEFAULT_WINDOW_CONFIG,
  LATENCY_EWMA_ALPHA,
  bucketCount,
  createWindow,
  recordCall,
  resetWindow,
  windowConfigErrors,
  windowMatchesConfig,
  windowStats,
} from './sliding-window.js';
export type {
  CallRecord,
  CallUsage,
  SlidingWindow,
  TokenTotals,
  WindowBucket,
  WindowConfig,
  WindowStats,
} from './sliding-window.js';

export { DEFAULT_BREAKER_CONFIG, openDurationFor, resolveBreakerConfig } from './breaker-config.js';
export type { BreakerConfig, ResolvedBreakerConfig } from './breaker-config.js';

export { force, initialBreaker, isRoutable, onCallResult, onTick } from './breaker.js';
export type {
  BreakerResult,
  BreakerSnapshot,
  BreakerState,
  BreakerStats,
  CallOutcome,
  ForceMode,
  Routability,
  Transition,
} from './breaker.js';
