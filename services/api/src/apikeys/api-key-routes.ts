import { Router } from 'express';
import { z } from 'zod';
import { ApiKeyCreateRequestSchema, ApiKeyStatusSchema, ApiKeyUpdateRequestSchema, ApiKeyValidateQuerySchema, ok, type ApiKeyDto } from '@apg/contracts';
import { newId } from '@apg/platform';
import { HttpError, idOr404, notFound, parseOr400 } from '../http/http-error';
import type { Notifier } from '../notifier';
import { generateApiKey, hashApiKey, keyPrefix } from './api-key';
import type { ApiKeyRecord, ApiKeyStore } from './api-key-store';

/** The seed's ApiKeyDTO, with `apiKeyValue` only in the creation response (then a prefix forever). */
export function toApiKeyDto(k: ApiKeyRecord, plaintext?: string): ApiKeyDto {
  const dto: ApiKeyDto = {
    id: k.id,
    apiKeyPrefix: k.keyPrefix,
    status: k.status,
    createdAt: k.createdAt.toISOString(),
    updatedAt: k.updatedAt.toISOString(),
  };
  if (plaintext !== undefined) dto.apiKeyValue = plaintext;
  if (k.description !== null) dto.description = k.description;
  if (k.expiresAt !== null) dto.expiresAt = k.expiresAt.toISOString();
  if (k.lastUsedAt !== null) dto.lastUsedAt = k.lastUsedAt.toISOString();
  return dto;
}

/** Accepts the seed's `yyyy-MM-dd HH:mm:ss` (read as UTC) and ISO-8601; anything else is a 400. */
export function parseExpiry(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const seed = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
  const date = new Date(seed ? `${seed[1]}T${seed[2]}Z` : value);
  if (Number.isNaN(date.getTime())) {
    throw new HttpError('VALIDATION_FAILED', 'expiresAt must be "yyyy-MM-dd HH:mm:ss" or ISO-8601', [{ field: 'expiresAt', message: 'invalid date-time' }]);
  }
  return date;
}

const StatusBody = z.object({ status: ApiKeyStatusSchema });
const keyIdOf = (raw: string | undefined) => idOr404(raw, 'API key');

/** `/api/admin/apikeys/**` (admin-authenticated). */
export function apiKeyRoutes(deps: { keys: ApiKeyStore; notifier: Notifier }): Router {
  const router = Router();
  const authChanged = (scope: { keyId?: string; denied?: boolean } = {}) => deps.notifier.publishRegistryChange({ kind: 'auth', ...scope });

  router.post('/', async (req, res) => {
    const body = parseOr400(ApiKeyCreateRequestSchema, req.body);
    const plaintext = generateApiKey();
    const record = await deps.keys.insert({
      id: newId(),
      keyHash: hashApiKey(plaintext),
      keyPrefix: keyPrefix(plaintext),
      description: body.description ?? null,
      status: 'UNUSED',
      expiresAt: parseExpiry(body.expiresAt) ?? null,
    });
    await authChanged();
    res.json(ok('API Key 生成成功', toApiKeyDto(record, plaintext)));
  });

  router.get('/', async (_req, res) => {
    res.json(ok('操作成功', (await deps.keys.list()).map((k) => toApiKeyDto(k))));
  });

  // Before `/:id`, which would otherwise take "validate" for an id.
  router.get('/validate', async (req, res) => {
    const { apiKey } = parseOr400(ApiKeyValidateQuerySchema, req.query);
    const auth = await deps.keys.findAuthByHash(hashApiKey(apiKey));
    const usable = auth !== null && (auth.status === 'ACTIVE' || auth.status === 'UNUSED') && (auth.expiresAt === null || auth.expiresAt.getTime() > Date.now());
    res.json(ok('操作成功', usable));
  });

  router.get('/:id', async (req, res) => {
    const id = keyIdOf(req.params['id']);
    const record = await deps.keys.findById(id);
    if (!record) throw notFound(`API key ${id}`);
    res.json(ok('操作成功', toApiKeyDto(record)));
  });

  router.put('/:id', async (req, res) => {
    const id = keyIdOf(req.params['id']);
    const body = parseOr400(ApiKeyUpdateRequestSchema, req.body);
    const patch: { description?: string; expiresAt?: Date } = {};
    if (body.description != null) patch.description = body.description;
    const expiresAt = parseExpiry(body.expiresAt ?? undefined);
    if (expiresAt !== undefined) patch.expiresAt = expiresAt;
    const record = await deps.keys.update(id, patch);
    if (!record) throw notFound(`API key ${id}`);
    // A new expiry changes what authentication accepts.
    await authChanged({ keyId: id, denied: record.expiresAt !== null && record.expiresAt.getTime() <= Date.now() });
    res.json(ok('API Key 修改成功', toApiKeyDto(record)));
  });

  router.put('/:id/status', async (req, res) => {
    const id = keyIdOf(req.params['id']);
    const body = parseOr400(StatusBody, req.body);
    const record = await deps.keys.update(id, { status: body.status });
    if (!record) throw notFound(`API key ${id}`);
    await authChanged({ keyId: id, denied: body.status === 'REVOKED' || body.status === 'EXPIRED' });
    res.json(ok('API Key 状态修改成功', toApiKeyDto(record)));
  });

  router.delete('/:id', async (req, res) => {
    const id = keyIdOf(req.params['id']);
    if (!(await deps.keys.delete(id))) throw notFound(`API key ${id}`);
    await authChanged({ keyId: id, denied: true });
    res.json(ok('API Key 删除成功'));
  });

  return router;
}
