import type { z } from 'zod';
import {
  ApiKeyCreateRequestSchema,
  ApiKeyStatusSchema,
  ApiKeyUpdateRequestSchema,
  ApiTypeSchema,
  InstanceBatchCreateRequestSchema,
  InstanceBatchDeleteRequestSchema,
  InstanceCreateRequestSchema,
  InstanceKeySchema,
  InstanceStatusSchema,
  InstanceUpdateRequestSchema,
  ProjectCreateRequestSchema,
  ProjectQuotasRequestSchema,
  ProjectSettingsRequestSchema,
  ProjectStatusSchema,
  ProjectStatusUpdateRequestSchema,
  ReportResultRequestSchema,
  SelectInstanceRequestSchema,
} from '@apg/contracts';
import { BreakerModeRequestSchema } from '../gateway/breaker-admin-routes';
import { ApiKeyStatusRequestSchema } from './route-catalog';
import * as R from './response-schemas';

/**
 * The schemas that become named components (`#/components/schemas/<name>`); wherever one of them
 * appears, the document refers to it instead of repeating it.
 */
export const COMPONENT_NAMES: readonly (readonly [z.ZodType, string])[] = [
  // enums
  [ApiTypeSchema, 'ApiType'],
  [InstanceStatusSchema, 'InstanceStatus'],
  [ApiKeyStatusSchema, 'ApiKeyStatus'],
  [ProjectStatusSchema, 'ProjectStatus'],
  [R.ErrorCodeSchema, 'ErrorCode'],
  // envelope
  [R.EnvelopeSchema, 'Envelope'],
  [R.ErrorBodySchema, 'ErrorBody'],
  [R.FieldErrorSchema, 'FieldError'],
  // request bodies
  [SelectInstanceRequestSchema, 'SelectInstanceRequest'],
  [ReportResultRequestSchema, 'ReportResultRequest'],
  [InstanceCreateRequestSchema, 'InstanceCreateRequest'],
  [InstanceBatchCreateRequestSchema, 'InstanceBatchCreateRequest'],
  [InstanceKeySchema, 'InstanceKey'],
  [InstanceBatchDeleteRequestSchema, 'InstanceBatchDeleteRequest'],
  [InstanceUpdateRequestSchema, 'InstanceUpdateRequest'],
  [ProjectCreateRequestSchema, 'ProjectCreateRequest'],
  [ProjectStatusUpdateRequestSchema, 'ProjectStatusUpdateRequest'],
  [ProjectSettingsRequestSchema, 'ProjectSettingsRequest'],
  [ProjectQuotasRequestSchema, 'ProjectQuotasRequest'],
  [ApiKeyCreateRequestSchema, 'ApiKeyCreateRequest'],
  [ApiKeyUpdateRequestSchema, 'ApiKeyUpdateRequest'],
  [ApiKeyStatusRequestSchema, 'ApiKeyStatusRequest'],
  [BreakerModeRequestSchema, 'BreakerModeRequest'],
  // response data
  [R.ApiInstanceSchema, 'ApiInstance'],
  [R.SelectedInstanceSchema, 'SelectedInstance'],
  [R.ProjectSchema, 'Project'],
  [R.ProjectSimpleSchema, 'ProjectSimple'],
  [R.ProjectStatisticsSchema, 'ProjectStatistics'],
  [R.ApiKeySchema, 'ApiKey'],
  [R.MonitoringOverviewSchema, 'MonitoringOverview'],
  [R.InstanceMonitoringSchema, 'InstanceMonitoring'],
  [R.TimeSeriesSchema, 'TimeSeries'],
  [R.StatusStatisticsSchema, 'StatusStatistics'],
  [R.ObservationOverviewSchema, 'ObservationOverview'],
  [R.InstanceObservationSchema, 'InstanceObservation'],
  [R.ProtectedHealthSchema, 'ProtectedHealth'],
  [R.HealthSchema, 'Health'],
  [R.DependencyReportSchema, 'DependencyReport'],
  [R.BreakerForceResultSchema, 'BreakerForceResult'],
  [R.InstanceStateSchema, 'InstanceState'],
];
