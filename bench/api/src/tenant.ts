// Tenants and instances created the way AgentX creates them: a key from the admin API, the project
// through `POST /api/projects`, instances through `POST /api/instances/batch`.
import { randomBytes } from 'node:crypto';
import { expect200, JsonClient } from './json-client';

export const USER_ID = 'u1';

export interface Tenant {
  apiKey: string;
  projectId: string;
  /** Sends `api-key: <apiKey>`. */
  http: JsonClient;
}

export interface Instance {
  id: string;
  businessId: string;
  apiIdentifier: string;
}

export async function createTenant(api: JsonClient, adminToken: string, name: string): Promise<Tenant> {
  const key = expect200<{ apiKeyValue: string }>('create API key', await api.with({ authorization: `Bearer ${adminToken}` }).post('/api/admin/apikeys', { description: `bench ${name}` }));
  const http = api.with({ 'api-key': key.apiKeyValue });
  const project = expect200<{ id: string }>('create project', await http.post('/api/projects', { name, description: 'api benchmark', apiKey: key.apiKeyValue }));
  return { apiKey: key.apiKeyValue, projectId: project.id, http };
}

/** A model id like AgentX's businessId: 32 lowercase hex characters. */
export const businessId = () => randomBytes(16).toString('hex');

/**
 * Registers `count` instances spread round-robin over the given identifiers, in batches (AgentX
 * sends one batch of everything; 10,000 of its items are ~1 MB, the api's default body limit).
 */
export async function registerInstances(tenant: Tenant, identifiers: string[], count: number, batch = 2000): Promise<Instance[]> {
  const out: Instance[] = [];
  for (let start = 0; start < count; start += batch) {
    const items = Array.from({ length: Math.min(batch, count - start) }, (_, k) => ({
      userId: USER_ID,
      apiIdentifier: identifiers[(start + k) % identifiers.length]!,
      apiType: 'MODEL',
      businessId: businessId(),
    }));
    const created = expect200<{ id: string; businessId: string; apiIdentifier: string }[]>('register instances', await tenant.http.post('/api/instances/batch', { instances: items }));
    if (created.length !== items.length) throw new Error(`register instances: ${created.length} created of ${items.length}`);
    out.push(...created.map((c) => ({ id: c.id, businessId: c.businessId, apiIdentifier: c.apiIdentifier })));
  }
  return out;
}
