import { createHash } from 'node:crypto';

/** A selectionId ending with this names a half-open probe lease (the api hands it out; reporters echo it). */
export const PROBE_SELECTION_SUFFIX = '.probe';

/** Whether a report for this selection settles a half-open probe (sets the event's `probe` flag). */
export function isProbeSelection(selectionId: string): boolean {
  return selectionId.endsWith(PROBE_SELECTION_SUFFIX);
}

/**
 * The eventId of the outcome of one selection: a UUID (version 5 layout) of SHA-1(`projectId:selectionId`).
 * One selection has one outcome, so every reporter (the api's HTTP report, the SDK's KafkaReporter, a
 * publisher in another language) derives the same id and a retried or doubled report is counted once.
 */
export function selectionEventId(projectId: string, selectionId: string): string {
  const h = createHash('sha1').update(`${projectId}:${selectionId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
