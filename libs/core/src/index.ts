/**
 * `@apg/core`: the pure decision core — sliding windows, the breaker state machine and the routing strategies.
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

export {
  BREAKER_BOUNDS,
  BREAKER_KEYS,
  DEFAULT_BREAKER_CONFIG,
  breakerConfigOf,
  breakerOverrideProblems,
  openDurationFor,
  resolveBreakerConfig,
} from './breaker-config.js';
export type { BreakerConfig, ResolvedBreakerConfig } from './breaker-config.js';

export { force, initialBreaker, isRoutable, onCallResult, onTick, probeHoldMs } from './breaker.js';
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

export {
  ROUTING_PARAM_BOUNDS,
  ROUTING_PARAM_KEYS,
  candidateStatsOf,
  routingParamsOf,
  routingParamsProblems,
  toCandidate,
} from './candidate.js';
export type { Candidate, CandidateInit, CandidateStats, RoutingParams } from './candidate.js';

export {
  COST_FLOOR_SHARE,
  DEFAULT_SMART_CONFIG,
  LATENCY_FLOOR_MS,
  costScores,
  effectiveWeights,
  isCold,
  latencyOf,
  latencyScores,
  resolveSmartConfig,
  scoreCandidates,
  smoothedSuccessRate,
  weightOf,
} from './scoring.js';
export type { ScoreBreakdown, SmartConfig } from './scoring.js';

export { STRATEGY_NAMES, choose, isStrategyName } from './strategies.js';
export type { ChooseContext, ChooseResult, Explained, SkipReason, StrategyName } from './strategies.js';

export type { HealthRecord, PublishedStats } from './health-record.js';
export { publishedStatsOf } from './health-record.js';

export { applyReportedCall, applyReportedCallNow, parkInstanceBreaker, tickInstanceBreaker, windowConfigOf } from './instance-breaker.js';
export type { AppliedCall, InstanceBreakerState, ReportedCall } from './instance-breaker.js';

export { DEFAULT_QUOTA_COOLDOWN_MS, DEFAULT_RATE_LIMIT_COOLDOWN_MS, classifyOutcome, errorClassOf } from './outcome-class.js';
export type { OutcomeClass, ReportedOutcome } from './outcome-class.js';

export { mulberry32 } from './seeded-random.js';

export { NUMERIC_STRING_MAX_LENGTH, boundProblem, describeBound, parseDecimal, readNumericSetting } from './numeric-setting.js';
export type { NumericBound, NumericReadResult, SettingProblem } from './numeric-setting.js';
