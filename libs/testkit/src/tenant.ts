import type { HttpClient } from './http-client';
import { uniqueName } from './test-env';

/** One tenant of a running api: its key (plaintext, as shown once), its project and a client using the key. */
export interface TestTenant {
  apiKey: string;
  keyId: string;
  projectId: string;
  projectName: string;
  /** Sends `api-key: <apiKey>` on every request. */
  http: HttpClient;
}

interface Enveloped<T> {
  code: number;
  message: string;
  data: T;
}

/**
 * Creates a key through the admin API and links a new project to it through `POST /api/projects`,
 * as AgentX does at start-up. Throws with the response body when either step is not a 200.
 */
export async function createTenant(api: { http: HttpClient; admin: HttpClient }, name: string = uniqueName('tenant')): Promise<TestTenant> {
  const key = await api.admin.post<Enveloped<{ id: string; apiKeyValue: string }>>('/api/admin/apikeys', { description: `key of ${name}` });
  if (key.status !== 200) throw new Error(`creating the key of ${name} failed: ${key.status} ${key.text}`);
  const apiKey = key.body.data.apiKeyValue;
  const http = api.http.with({ 'api-key': apiKey });
  const project = await http.post<Enveloped<{ id: string }>>('/api/projects', { name, description: `project ${name}`, apiKey });
  if (project.status !== 200) throw new Error(`creating the project ${name} failed: ${project.status} ${project.text}`);
  return { apiKey, keyId: key.body.data.id, projectId: project.body.data.id, projectName: name, http };
}
