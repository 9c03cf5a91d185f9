import { callTimestampProblem, decodeCallResultEvent, macMatches, readSignatureClaim, type CallResultEvent } from '@apg/contracts';
import type { KafkaMessage } from 'kafkajs';
import type { DeadLetter, DeadLetterReason } from './dead-letter';
import type { InstanceDirectory } from './instance-directory';
import type { SigningKey, SigningPolicy } from './signing-keys';

export interface AdmittedEvent {
  event: CallResultEvent;
  message: KafkaMessage;
}

export interface Intake {
  admitted: AdmittedEvent[];
  rejected: DeadLetter[];
  /** Admitted without a signature (only when the policy does not require one: migration mode). */
  unsignedAdmitted: number;
}

/** Days of raw call results kept when nothing else is configured (`RETENTION_DAYS`). */
export const DEFAULT_RAW_RETENTION_DAYS = 7;

export interface IntakeLimits {
  /** Largest message value accepted, in bytes. */
  maxBytes: number;
  /** The consumer's clock (epoch ms), read once per batch. */
  now: number;
  /** Raw retention in ms: older calls are refused (they would land in a dropped partition). */
  retentionMs: number;
}

interface Decoded extends AdmittedEvent {
  /** The signature it carries; null when unsigned and the policy lets unsigned events count. */
  claim: { keyId: string; mac: Buffer } | null;
}

/**
 * Decides, per message, whether an event counts: it must fit the size limit, carry a signature (unless
 * the policy allows unsigned events) that is well-formed, decode, be of a known schema version, be dated
 * within [now − retention, now + 5 min] (contracts' callTimestampProblem, the same window the api answers
 * 400 for), be signed by a known key whose MAC matches the exact bytes, that is neither revoked nor
 * expired and that belongs to the event's project (or is a service credential), and name an instance
 * that belongs to its project. Events published straight to Kafka are not trusted. Each message gets an
 * outcome; nothing throws for a bad message. Only the look-ups (registry, keys) can throw, and that is an
 * infrastructure error for the caller. Unsigned messages are refused before their value is even parsed.
 */
export async function admitEvents(
  messages: KafkaMessage[],
  partition: number,
  directory: InstanceDirectory,
  signing: SigningPolicy,
  limits: IntakeLimits,
): Promise<Intake> {
  const { maxBytes, now, retentionMs } = limits;
  const decoded: Decoded[] = [];
  const rejected: DeadLetter[] = [];
  const reject = (message: KafkaMessage, reason: DeadLetterReason, detail: string) => rejected.push({ message, partition, reason, detail });
  for (const message of messages) {
    if (message.value && message.value.length > maxBytes) {
      reject(message, 'oversized', `${message.value.length} bytes > ${maxBytes}`);
      continue;
    }
    const claim = readSignatureClaim(message.headers);
    if (!claim.ok && (claim.reason !== 'unsigned' || signing.requireSigned)) {
      reject(message, claim.reason, claim.detail);
      continue;
    }
    const result = decodeCallResultEvent(message.value);
    if (!result.ok) {
      reject(message, result.reason, result.detail);
      continue;
    }
    const problem = callTimestampProblem(result.event.callTimestamp, now, retentionMs);
    if (problem !== null) reject(message, 'timestamp_out_of_range', problem);
    else decoded.push({ event: result.event, message, claim: claim.ok ? { keyId: claim.keyId, mac: claim.mac } : null });
  }
  if (decoded.length === 0) return { admitted: [], rejected, unsignedAdmitted: 0 };
  const keyIds = decoded.flatMap((d) => (d.claim ? [d.claim.keyId] : []));
  const [owners, keys] = await Promise.all([
    directory.ownersOf(decoded.map((d) => d.event.instanceId)),
    keyIds.length ? signing.keys.resolve(keyIds) : Promise.resolve(new Map<string, SigningKey>()),
  ]);
  const admitted: AdmittedEvent[] = [];
  let unsignedAdmitted = 0;
  for (const d of decoded) {
    const refusal = d.claim ? signatureProblem(d, d.claim, keys.get(d.claim.keyId), now) : null;
    if (refusal) {
      reject(d.message, refusal.reason, refusal.detail);
      continue;
    }
    const owner = owners.get(d.event.instanceId);
    if (owner === undefined) {
      reject(d.message, 'unknown_instance', `instance ${d.event.instanceId} is not registered`);
    } else if (owner !== d.event.projectId) {
      reject(d.message, 'foreign_instance', `instance ${d.event.instanceId} does not belong to project ${d.event.projectId}`);
    } else {
      admitted.push({ event: d.event, message: d.message });
      if (!d.claim) unsignedAdmitted++;
    }
  }
  return { admitted, rejected, unsignedAdmitted };
}

/**
 * Why a signed event does not count, or null. The MAC is checked before the key's status, so what the
 * DLQ says about a key's status is only ever learnt by whoever holds the key.
 */
function signatureProblem(d: Decoded, claim: { keyId: string; mac: Buffer }, key: SigningKey | undefined, now: number): { reason: DeadLetterReason; detail: string } | null {
  // The key id is printable but attacker-chosen: quoted with JSON escapes, and at most 64 characters (readSignatureClaim).
  const id = JSON.stringify(claim.keyId);
  if (!key) return { reason: 'unknown_key', detail: `no signing key ${id}` };
  if (!macMatches(d.message.value ?? Buffer.alloc(0), key.secret, claim.mac)) return { reason: 'bad_signature', detail: `the signature does not match the value under key ${id}` };
  if (key.status === 'REVOKED') return { reason: 'revoked_key', detail: `key ${id} is revoked` };
  if (key.status === 'EXPIRED' || (key.expiresAt !== null && key.expiresAt <= now)) return { reason: 'expired_key', detail: `key ${id} has expired` };
  if (key.status !== 'ACTIVE' && key.status !== 'UNUSED') return { reason: 'revoked_key', detail: `key ${id} is ${key.status}` };
  if (key.scope.kind === 'project' && key.scope.projectId !== d.event.projectId) {
    return { reason: 'key_project_mismatch', detail: `key ${id} does not sign for project ${d.event.projectId}` };
  }
  if (key.scope.kind === 'project' && !key.scope.projectActive) return { reason: 'inactive_project', detail: `project ${d.event.projectId} is deactivated` };
  return null;
}
