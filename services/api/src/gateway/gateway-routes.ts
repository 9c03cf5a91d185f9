import { Router } from 'express';
import {
  CALL_RESULT_SCHEMA_VERSION,
  ReportResultRequestSchema,
  callTimestampProblem,
  readUsageMetrics,
  ok,
  isProbeSelection,
  selectionEventId,
  type CallResultEvent,
  type ReportResultRequest,
} from '@apg/contracts';
import { newEventId, type Logger } from '@apg/platform';
import { HttpError, parseOr400 } from '../http/http-error';
import { requestIdOf, requestLog } from '../http/request-context';
import { tenantOf } from '../http/tenant-auth';
import type { RegistryCache } from '../instances/registry-cache';
import type { InstanceRecord } from '../instances/instance-store';
import type { ReportDelivery } from '../spool/report-delivery';
import type { SelectionService } from './selection-service';
import type { RoutingState } from './routing-state';
import { RedisUnavailableError } from './redis-circuit';

/** `POST /api/gateway/select-instance` and `POST /api/gateway/report-result` (tenant-authenticated). */
export function gatewayRoutes(deps: {
  selection: SelectionService;
  registry: RegistryCache;
  /** Kafka, or the local spool when Kafka cannot take the report. */
  delivery: Pick<ReportDelivery, 'send'>;
  state: RoutingState;
  log: Logger;
  leaseTtlMs: number;
  /** Raw call results are kept this long (the ingestor's RETENTION_DAYS): older callTimestamps are refused. */
  retentionMs: number;
  now?: () => number;
}): Router {
  const router = Router();
  const now = deps.now ?? Date.now;

  router.post('/select-instance', async (req, res) => {
    const body = deps.selection.parseRequest(req.body);
    // The request's logger is made only if something logs (a child per request would cost every select).
    const log = () => requestLog(res, deps.log);
    const data = await deps.selection.select(tenantOf(res), body, log);
    if (deps.log.isLevelEnabled('debug')) log().debug({ selectionId: data.selectionId, instanceId: data.id, fallbackUsed: data.fallbackUsed }, 'selected');
    res.json(ok('API实例选择成功', data));
  });

  router.post('/report-result', async (req, res) => {
    const body = parseOr400(ReportResultRequestSchema, req.body);
    // Checked before any lookup: a call dated outside the retention (or ahead of the clock) is the client's error.
    const tsProblem = body.callTimestamp === undefined ? null : callTimestampProblem(body.callTimestamp, now(), deps.retentionMs);
    if (tsProblem) throw new HttpError('VALIDATION_FAILED', `callTimestamp: ${tsProblem}`, [{ field: 'callTimestamp', message: tsProblem }]);
    const { projectId } = tenantOf(res);
    // Another tenant's instance id behaves exactly like an unknown one: no side effect, 404.
    const instance = await deps.registry.instance(projectId, body.instanceId);
    if (!instance) throw new HttpError('NOT_FOUND', `instance not found: ${body.instanceId}`);
    const event = toEvent(body, instance, now());
    if (body.selectionId) {
      // One selection, one outcome: a retried report (after a timeout on our side) is the same event.
      event.eventId = selectionEventId(projectId, body.selectionId);
      event.probe = isProbeSelection(body.selectionId);
    }
    const log = () => requestLog(res, deps.log);
    const delivery = await deps.delivery.send([event], requestIdOf(res));
    const at = event.receivedAt ?? now();
    // A call the open Redis circuit skipped is expected (the circuit logged the outage once), not news per report.
    const background = (what: string) => (err: Error) => {
      if (!(err instanceof RedisUnavailableError)) log().warn({ err: err.message, selectionId: body.selectionId, eventId: event.eventId }, `${what} not recorded`);
    };
    // Settled only once Kafka or the spool durably has the event: a 503 leaves the lease open, to expire as a
    // timeout. Local breakers learn from a spooled report as from a produced one.
    deps.state.reported(instance.id, body.selectionId, at, deps.leaseTtlMs).catch(background('report (lease, time)'));
    if (event.usage?.totalTokens) deps.state.addTokens(instance.id, event.usage.totalTokens, at).catch(background('tpm counter'));
    deps.selection.noteReport(instance, event);
    if (deps.log.isLevelEnabled('debug')) log().debug({ selectionId: body.selectionId, eventId: event.eventId, instanceId: instance.id, success: event.success, delivery }, 'reported');
    res.json(ok('调用结果上报成功', { delivery }));
  });

  return router;
}

function toEvent(body: ReportResultRequest, instance: InstanceRecord, receivedAt: number): CallResultEvent {
  const event: CallResultEvent = {
    eventId: newEventId(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: instance.projectId,
    instanceId: instance.id,
    apiIdentifier: instance.apiIdentifier,
    apiType: instance.apiType,
    // The registry's businessId, not the report's: the event must describe the instance it counts for.
    businessId: instance.businessId,
    success: body.success,
    latencyMs: body.latencyMs,
    callTimestamp: body.callTimestamp ?? receivedAt,
    receivedAt,
  };
  if (body.userId) event.userId = body.userId;
  if (body.selectionId) event.selectionId = body.selectionId;
  if (body.statusCode !== undefined) event.statusCode = body.statusCode;
  if (body.errorType) event.errorType = body.errorType;
  if (body.errorMessage) event.errorMessage = body.errorMessage;
  if (body.retryAfterMs !== undefined) event.retryAfterMs = body.retryAfterMs;
  const { usage } = readUsageMetrics(body.usageMetrics);
  if (usage) event.usage = usage;
  return event;
}
