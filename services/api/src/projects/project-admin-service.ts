import {
  API_KEY_STATUSES,
  INSTANCE_STATUSES,
  PROJECT_STATUSES,
  type ProjectStatisticsDto,
  type ProjectStatus,
  type StatusCounts,
} from '@apg/contracts';
import type { Db } from '@apg/platform';
import type { ApiKeyStore } from '../apikeys/api-key-store';
import type { BreakerStateStore } from '../gateway/breaker-state-store';
import type { AdminInstanceStore } from '../instances/admin-instance-store';
import type { InstanceStore } from '../instances/instance-store';
import type { Notifier } from '../notifier';
import type { ProjectRecord, ProjectStore, ProjectWithKey } from './project-store';

export interface ProjectAdminDeps {
  db: Db;
  projects: ProjectStore;
  keys: ApiKeyStore;
  instances: InstanceStore;
  adminInstances: AdminInstanceStore;
  breakerStates: BreakerStateStore;
  notifier: Notifier;
}

function counts<S extends string>(statuses: readonly S[], found: Map<string, number>): StatusCounts<S> {
  const byStatus = Object.fromEntries(statuses.map((s) => [s, found.get(s) ?? 0])) as Record<S, number>;
  return { total: statuses.reduce((sum, s) => sum + byStatus[s], 0), byStatus };
}

/** The admin's writes on projects, each of which also moves keys, instances and caches. */
export class ProjectAdminService {
  constructor(private readonly deps: ProjectAdminDeps) {}

  /**
   * Deletes a project with its instances and revokes its keys, in one transaction (the seed deleted
   * the project row only and left the key ACTIVE). Then every replica drops the key from its auth
   * cache and the project from its registry cache, and the instances' breaker states go.
   */
  async delete(projectId: string): Promise<{ project: ProjectRecord; instanceIds: string[] } | null> {
    const { db, projects, keys, instances, notifier } = this.deps;
    const result = await db.tx('project.delete_cascade', async (client) => {
      const instanceIds = await instances.deleteAllOfProject(projectId, client);
      // Before the delete: it unlinks the keys issued for the project (ON DELETE SET NULL).
      await keys.revokeAllOfProject(projectId, client);
      const project = await projects.delete(projectId, client);
      if (!project) return null;
      return { project, instanceIds };
    });
    if (!result) return null;
    await notifier.publishRegistryChange({ kind: 'auth', projectId, denied: true });
    await notifier.publishRegistryChange({ kind: 'instances', projectId });
    await this.deps.breakerStates.remove(result.instanceIds);
    return result;
  }

  /** ACTIVE / INACTIVE; an inactive project's key gets 403 on the next request, on every replica. */
  async setStatus(projectId: string, status: ProjectStatus): Promise<ProjectWithKey | null> {
    const updated = await this.deps.projects.setStatus(projectId, status);
    if (!updated) return null;
    await this.deps.notifier.publishRegistryChange({ kind: 'auth', projectId, denied: status !== 'ACTIVE' });
    const [withKey] = await this.deps.projects.findWithKeys({ id: projectId });
    return withKey ?? { project: updated, keyPrefix: null };
  }

  /** Routing settings, picked up by every replica at once (they travel with the key's auth record). */
  async setSettings(projectId: string, settings: { defaultStrategy?: string | null; panicMode?: boolean }): Promise<ProjectWithKey | null> {
    const updated = await this.deps.projects.setSettings(projectId, settings);
    if (!updated) return null;
    await this.deps.notifier.publishRegistryChange({ kind: 'auth', projectId });
    const [withKey] = await this.deps.projects.findWithKeys({ id: projectId });
    return withKey ?? { project: updated, keyPrefix: null };
  }

  /** Quota overrides (null = back to the default); like the settings, they travel with the key's auth record. */
  async setQuotas(projectId: string, overrides: Record<string, number | null>): Promise<ProjectWithKey | null> {
    const updated = await this.deps.projects.mergeQuotaOverrides(projectId, overrides);
    if (!updated) return null;
    await this.deps.notifier.publishRegistryChange({ kind: 'auth', projectId });
    const [withKey] = await this.deps.projects.findWithKeys({ id: projectId });
    return withKey ?? { project: updated, keyPrefix: null };
  }

  async statistics(): Promise<ProjectStatisticsDto> {
    const [projects, instances, apiKeys] = await Promise.all([
      this.deps.projects.countByStatus(),
      this.deps.adminInstances.countByStatus(),
      this.deps.keys.countByStatus(),
    ]);
    return {
      projects: counts(PROJECT_STATUSES, projects),
      instances: counts(INSTANCE_STATUSES, instances),
      apiKeys: counts(API_KEY_STATUSES, apiKeys),
    };
  }
}
