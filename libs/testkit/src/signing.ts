import type { IHeaders } from 'kafkajs';
import { serviceSigningKey, signEvent, signWithSecret } from '@apg/contracts';

/**
 * The api's service credential in every test stack (`EVENT_SIGNING_SECRET`): in-process services get it
 * from stack.ts, child processes from serviceEnv. Tests that publish straight to Kafka sign with it (or
 * with a real project key), since the consumers count only signed events.
 */
export const TEST_EVENT_SIGNING_SECRET = 'test-event-signing-secret-0123456789abcdef';

const credential = serviceSigningKey('api', TEST_EVENT_SIGNING_SECRET);

/** The headers that sign `value` as the api does. */
export function serviceSignature(value: Buffer | string | null): Record<string, string> {
  return signWithSecret(value ?? Buffer.alloc(0), credential.keyId, credential.secret);
}

/** A message signed as the api signs (its own headers kept, the signature added). */
export function signedByService<M extends { value: Buffer | string | null; headers?: IHeaders }>(m: M): M & { headers: IHeaders } {
  return { ...m, headers: { ...m.headers, ...serviceSignature(m.value) } };
}

/** A message signed with a project's API key, as a tenant publishing straight to Kafka signs it. */
export function signedByKey<M extends { value: Buffer | string; headers?: IHeaders }>(m: M, apiKey: string): M & { headers: IHeaders } {
  return { ...m, headers: { ...m.headers, ...signEvent(m.value, apiKey) } };
}
