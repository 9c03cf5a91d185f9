import { expect } from 'chai';
import { API_KEY_STATUSES, API_TYPES, INSTANCE_STATUSES, PROJECT_STATUSES } from '@apg/contracts';
import type { HttpResult } from '../http-client';

/** Assertions on the wire contract shared by every endpoint: the envelope, ids, enums and DTO fields. */

export const ID32 = /^[0-9a-f]{32}$/;
/** ISO-8601 with an offset (`Z` or `±hh:mm`), never the seed's zone-less LocalDateTime. */
export const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The envelope as it arrives; `data` is typed by the caller. */
export interface Env<T = unknown> {
  code: number;
  message: string;
  data?: T;
  timestamp: number;
  errorCode?: string;
  errors?: { field: string; message: string }[];
}

const ENVELOPE_KEYS = ['code', 'message', 'data', 'timestamp'];
const ERROR_KEYS = ['code', 'message', 'errorCode', 'errors', 'timestamp'];

function expectTimestamp(ts: unknown): void {
  expect(ts, 'timestamp').to.be.a('number');
  expect(Math.abs(Date.now() - (ts as number)), 'timestamp is epoch ms, now').to.be.below(60_000);
}

/**
 * A success: HTTP 200 and code 200, a message (the seed's when given), no errorCode, only envelope
 * keys. Returns `data` (undefined when the seed sends none).
 */
export function expectOk<T = unknown>(result: HttpResult<Env<T>> | HttpResult<Record<string, unknown>>, message?: string): T {
  const res = result as HttpResult<Env<T>>;
  expect(res.status, res.text).to.equal(200);
  expect(res.headers.get('content-type')).to.match(/^application\/json/);
  expect(res.body.code).to.equal(200);
  expect(res.body.message).to.be.a('string').with.length.above(0);
  if (message !== undefined) expect(res.body.message).to.equal(message);
  expectTimestamp(res.body.timestamp);
  expect(Object.keys(res.body).every((k) => ENVELOPE_KEYS.includes(k)), `envelope keys ${Object.keys(res.body).join(',')}`).to.equal(true);
  return res.body.data as T;
}

/** An error: HTTP status == code, the stable errorCode, a message, no data. Returns the body. */
export function expectError(result: HttpResult<unknown>, status: number, errorCode: string): Env {
  const res = result as HttpResult<Env>;
  expect(res.status, res.text).to.equal(status);
  expect(res.body.code).to.equal(status);
  expect(res.body.errorCode).to.equal(errorCode);
  expect(res.body.message).to.be.a('string').with.length.above(0);
  expect(res.body).not.to.have.property('data');
  expectTimestamp(res.body.timestamp);
  expect(Object.keys(res.body).every((k) => ERROR_KEYS.includes(k)), `error keys ${Object.keys(res.body).join(',')}`).to.equal(true);
  return res.body;
}

/** A 400 VALIDATION_FAILED whose field list names `field` (a prefix match: `instances.1` matches `instances.1.apiType`). */
export function expectValidation(res: HttpResult<unknown>, field?: string): Env {
  const body = expectError(res, 400, 'VALIDATION_FAILED');
  if (field !== undefined) {
    expect(body.errors?.map((e) => e.field).some((f) => f === field || f.startsWith(`${field}.`)), `errors name ${field}: ${res.text}`).to.equal(true);
  }
  return body;
}

const isPlainObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

function expectOnlyKeys(dto: object, allowed: readonly string[], what: string): void {
  const extra = Object.keys(dto).filter((k) => !allowed.includes(k));
  expect(extra, `${what} has unexpected fields`).to.deep.equal([]);
}

const INSTANCE_KEYS = ['id', 'projectId', 'projectName', 'userId', 'apiIdentifier', 'apiType', 'businessId', 'routingParams', 'status', 'metadata'];

/** The seed's ApiInstanceDTO: every field and its format; `projectName` only where `withProjectName`. */
export function expectInstanceDto(dto: unknown, opts: { withProjectName?: boolean } = {}): asserts dto is Record<string, unknown> {
  expect(isPlainObject(dto), 'instance DTO is an object').to.equal(true);
  const d = dto as Record<string, unknown>;
  expectOnlyKeys(d, INSTANCE_KEYS, 'ApiInstanceDTO');
  expect(d['id']).to.match(ID32);
  expect(d['projectId']).to.match(ID32);
  expect(d['apiIdentifier']).to.be.a('string').with.length.above(0);
  expect(d['businessId']).to.be.a('string').with.length.above(0);
  expect(API_TYPES).to.include(d['apiType']);
  expect(INSTANCE_STATUSES).to.include(d['status']);
  expect(isPlainObject(d['routingParams']), 'routingParams is an object').to.equal(true);
  expect(isPlainObject(d['metadata']), 'metadata is an object').to.equal(true);
  if ('userId' in d) expect(d['userId']).to.be.a('string');
  if (opts.withProjectName) expect(d['projectName']).to.be.a('string').with.length.above(0);
  else expect(d).not.to.have.property('projectName');
}

const PROJECT_KEYS = ['id', 'name', 'description', 'apiKeyPrefix', 'status', 'defaultStrategy', 'panicMode', 'quotaOverrides', 'createdAt', 'updatedAt'];

/** ProjectDTO: the seed's fields, never the plaintext key (`apiKey`), a prefix instead. */
export function expectProjectDto(dto: unknown): asserts dto is Record<string, unknown> {
  expect(isPlainObject(dto), 'project DTO is an object').to.equal(true);
  const d = dto as Record<string, unknown>;
  expectOnlyKeys(d, PROJECT_KEYS, 'ProjectDTO');
  expect(d['id']).to.match(ID32);
  expect(d['name']).to.be.a('string').with.length.above(0);
  expect(PROJECT_STATUSES).to.include(d['status']);
  expect(d['createdAt']).to.match(ISO_WITH_OFFSET);
  expect(d['updatedAt']).to.match(ISO_WITH_OFFSET);
  if ('description' in d) expect(d['description']).to.be.a('string');
  if ('apiKeyPrefix' in d) expect(d['apiKeyPrefix']).to.match(/^\w{3,16}$/);
  expect(d['panicMode']).to.be.a('boolean');
  if ('defaultStrategy' in d) expect(d['defaultStrategy']).to.be.a('string');
  if ('quotaOverrides' in d) expect(Object.values(d['quotaOverrides'] as object).every((v) => Number.isInteger(v))).to.equal(true);
}

const KEY_KEYS = ['id', 'apiKeyValue', 'apiKeyPrefix', 'description', 'status', 'expiresAt', 'lastUsedAt', 'createdAt', 'updatedAt'];

/** ApiKeyDTO: `apiKeyValue` only when `withValue` (the creation response). */
export function expectApiKeyDto(dto: unknown, opts: { withValue?: boolean } = {}): asserts dto is Record<string, unknown> {
  expect(isPlainObject(dto), 'API key DTO is an object').to.equal(true);
  const d = dto as Record<string, unknown>;
  expectOnlyKeys(d, KEY_KEYS, 'ApiKeyDTO');
  expect(d['id']).to.match(ID32);
  expect(API_KEY_STATUSES).to.include(d['status']);
  expect(d['apiKeyPrefix']).to.be.a('string').with.length.above(0);
  expect(d['createdAt']).to.match(ISO_WITH_OFFSET);
  expect(d['updatedAt']).to.match(ISO_WITH_OFFSET);
  for (const k of ['expiresAt', 'lastUsedAt']) if (k in d) expect(d[k]).to.match(ISO_WITH_OFFSET);
  if (opts.withValue) expect(d['apiKeyValue']).to.match(/^gw_[A-Za-z0-9]{32}$/);
  else expect(d).not.to.have.property('apiKeyValue');
}
