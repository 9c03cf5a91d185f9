import type { ProjectDto } from '@apg/contracts';
import { decodeQuotaOverrides, setOverrides } from '../quotas/project-quotas';
import type { ProjectRecord } from './project-store';

/** The seed's ProjectDTO, minus the plaintext key (fault 3): only a prefix is ever shown again. */
export function toProjectDto(p: ProjectRecord, keyPrefix: string | null): ProjectDto {
  const dto: ProjectDto = {
    id: p.id,
    name: p.name,
    status: p.status,
    panicMode: p.panicMode,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
  if (p.description !== null) dto.description = p.description;
  if (p.defaultStrategy !== null) dto.defaultStrategy = p.defaultStrategy;
  if (keyPrefix !== null) dto.apiKeyPrefix = keyPrefix;
  const overrides = setOverrides(decodeQuotaOverrides(p.quotaOverrides));
  if (Object.keys(overrides).length > 0) dto.quotaOverrides = overrides;
  return dto;
}
