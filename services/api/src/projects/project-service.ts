import type { ProjectCreateRequest } from '@apg/contracts';
import { newId, type Db } from '@apg/platform';
import { hashApiKey } from '../apikeys/api-key';
import type { ApiKeyStore } from '../apikeys/api-key-store';
import { HttpError } from '../http/http-error';
import type { Notifier } from '../notifier';
import type { ProjectRecord, ProjectStore } from './project-store';

export class ProjectService {
  constructor(
    private readonly db: Db,
    private readonly projects: ProjectStore,
    private readonly keys: ApiKeyStore,
    private readonly notifier: Notifier,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Links a usable key to a new project, or returns the project it is already linked to: AgentX
   * calls this on every boot. Knowing the key is the credential; the key needs no project yet
   * (requiring one would deadlock AgentX's bootstrap).
   */
  async createForKey(req: ProjectCreateRequest): Promise<{ project: ProjectRecord; created: boolean }> {
    const result = await this.db.tx('project.create_for_key', async (client) => {
      const auth = await this.keys.findAuthByHash(hashApiKey(req.apiKey), client);
      // One answer for a key that never existed, was revoked or expired: this route is anonymous, and a
      // status in the answer (the seed's `API Key 不可用，状态: REVOKED`) tells a guesser which keys exist.
      const usable = auth !== null && auth.status !== 'REVOKED' && auth.status !== 'EXPIRED'
        && (auth.expiresAt === null || auth.expiresAt.getTime() > this.now());
      if (!auth || !usable) throw new HttpError('UNAUTHORIZED', 'invalid API key');
      const existing = await this.projects.findByKeyId(auth.keyId, client);
      if (existing) return { project: existing, created: false };
      const inserted = await this.projects.insertForKey(
        { id: newId(), name: req.name, description: req.description ?? null, apiKeyId: auth.keyId },
        client,
      );
      // Lost a race with a concurrent call for the same key: theirs is the project.
      if (!inserted) return { project: (await this.projects.findByKeyId(auth.keyId, client))!, created: false };
      await this.keys.update(auth.keyId, { status: 'ACTIVE' }, client);
      return { project: inserted, created: true };
    });
    if (result.created) await this.notifier.publishRegistryChange({ kind: 'auth', keyId: result.project.apiKeyId ?? undefined });
    return result;
  }

  async prefixOf(project: ProjectRecord): Promise<string | null> {
    if (!project.apiKeyId) return null;
    return (await this.keys.findById(project.apiKeyId))?.keyPrefix ?? null;
  }
}

