/**
 * `@apg/sdk`: the TypeScript / JavaScript client of API Premium Gateway. See libs/sdk/README.md.
 */
export { GatewayClient, type GatewayClientOptions, type CallContext, type CallOptions, type CallSuccess } from './gateway-client';
export { KafkaReporter, type KafkaReporterOptions, type DropNotice, type ReporterStats } from './kafka-reporter';
export { GatewayError, GatewayCallError, UpstreamError, throwIfNotOk, retryAfterOf, type Attempt, type CallFailureReason, type ClientErrorCode } from './errors';
export { classifyFailure, statusOf, type FailureClass, type StoppedBy } from './classify';
export { backoffDelayMs, nextStep, DEFAULT_BACKOFF, type BackoffOptions, type NextStep } from './retry-plan';
export { buildCallResultEvent, reportRequestOf, type BuiltEvent } from './report-event';
export { DROP_REASONS, type DropReason } from './send-buffer';
export type { CallOutcome, InstanceContext, KafkaCallOutcome, ResultReporter, SelectRequest, SelectedInstance } from './types';
// Signing for publishers that build their own messages (same derivation the consumers verify).
export { signEvent, apiKeyDigest, SIGNATURE_HEADER, SIGNATURE_KEY_ID_HEADER, selectionEventId, encodeCallResultEvent, CallResultEventSchema, type CallResultEvent, type SignableValue } from '@apg/contracts';
export type { ApiType, Usage } from '@apg/contracts';
