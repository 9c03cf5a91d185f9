import type { ApiInstanceDto } from '@apg/contracts';
import type { InstanceRecord } from './instance-store';

/** The seed's ApiInstanceDTO: null fields left out, routingParams/metadata always objects. */
export function toInstanceDto(r: InstanceRecord, projectName?: string): ApiInstanceDto {
  const dto: ApiInstanceDto = {
    id: r.id,
    projectId: r.projectId,
    apiIdentifier: r.apiIdentifier,
    apiType: r.apiType,
    businessId: r.businessId,
    routingParams: r.routingParams,
    status: r.status,
    metadata: r.metadata,
  };
  if (projectName !== undefined) dto.projectName = projectName;
  if (r.userId !== null) dto.userId = r.userId;
  return dto;
}
