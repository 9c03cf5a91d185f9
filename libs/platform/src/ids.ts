import { randomBytes, randomUUID } from 'node:crypto';

/** 32 lowercase hex chars, the seed's id format (MyBatis-Plus ASSIGN_UUID: a UUID without dashes). */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

export function newEventId(): string {
  return randomUUID();
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
