import { resolveBreakerConfig, isRoutable, type BreakerConfig, type BreakerSnapshot } from '@apg/core';
import type { SelectInstanceRequest, SelectedInstanceDto } from '@apg/contracts';
import { newId } from '@apg/platform';
import { HttpError } from '../http/http-error';
import type { RegistryCache } from '../instances/registry-cache';
import type { InstanceRecord } from '../instances/instance-store';
import { toInstanceDto } from '../instances/instance-dto';
import type { BreakerCache } from './breaker-cache';
import type { ProbePermits } from './probe-permits';

type Attempt =
  | { ok: true; instance: InstanceRecord; breaker: BreakerSnapshot }
  | { ok: false; errorCode: 'NO_AVAILABLE_INSTANCE' | 'NO_HEALTHY_INSTANCE'; message: string };

/**
 * Chooses an instance for one select: candidates from the in-process registry, minus OPEN breakers,
 * HALF_OPEN ones only with a probe permit, then the fallback chain in order. No Postgres on this path.
 */
export class SelectionService {
  private readonly rrCounters = new Map<string, number>();

  constructor(
    private readonly registry: RegistryCache,
    private readonly breakers: BreakerCache,
    private readonly permits: ProbePermits,
    private readonly breakerDefaults: BreakerConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async select(projectId: string, req: SelectInstanceRequest): Promise<SelectedInstanceDto> {
    const group = await this.registry.group(projectId, req.apiType);
    const identifiers = [req.apiIdentifier, ...(req.fallbackChain ?? [])];
    let first: Attempt | null = null;
    for (let i = 0; i < identifiers.length; i++) {
      const identifier = identifiers[i]!;
      const attempt = await this.tryIdentifier(projectId, group, identifier, req);
      if (attempt.ok) {
        return {
          ...toInstanceDto(attempt.instance),
          selectionId: newId(),
          breakerState: attempt.breaker.state,
          fallbackUsed: i > 0,
          servedApiIdentifier: identifier,
        };
      }
      first ??= attempt;
    }
    if (identifiers.length > 1) {
      throw new HttpError('FALLBACK_EXHAUSTED', `no instance available for ${req.apiIdentifier} nor any of ${identifiers.length - 1} fallback entries`);
    }
    throw new HttpError(first!.errorCode, first!.message);
  }

  private async tryIdentifier(projectId: string, group: InstanceRecord[], identifier: string, req: SelectInstanceRequest): Promise<Attempt> {
    const userId = req.userId?.trim() ? req.userId : undefined;
    const exclude = new Set(req.excludeInstanceIds ?? []);
    // AgentX's fallback chain holds businessIds, so an entry matches either field (as the seed did).
    const candidates = group.filter(
      (i) =>
        i.status === 'ACTIVE' &&
        (i.apiIdentifier === identifier || i.businessId === identifier) &&
        (userId === undefined || i.userId === userId) &&
        !exclude.has(i.id),
    );
    if (candidates.length === 0) {
      return { ok: false, errorCode: 'NO_AVAILABLE_INSTANCE', message: `no active instance for apiIdentifier=${identifier}, apiType=${req.apiType}` };
    }
    const now = this.now();
    const healthy: { instance: InstanceRecord; breaker: BreakerSnapshot }[] = [];
    const probing: { instance: InstanceRecord; breaker: BreakerSnapshot }[] = [];
    for (const instance of candidates) {
      const breaker = this.breakers.get(instance.id, now);
      const routable = isRoutable(breaker, now);
      if (routable === 'yes') healthy.push({ instance, breaker });
      else if (routable === 'probe') probing.push({ instance, breaker });
    }
    // A recovering instance gets its probes first: otherwise healthy peers would starve it and it
    // would stay half-open for ever. Permits are bounded, so this costs at most `halfOpenProbes` calls.
    for (const p of probing) {
      const cfg = this.configFor(p.instance);
      const ttl = cfg.openDurationMs + 120_000;
      if (await this.permits.tryAcquire(p.instance.id, p.breaker.since, cfg.halfOpenProbes, ttl)) return { ok: true, ...p };
    }
    if (healthy.length === 0) {
      return { ok: false, errorCode: 'NO_HEALTHY_INSTANCE', message: `all instances for apiIdentifier=${identifier} are unavailable or circuit-open` };
    }
    const key = `${projectId}|${req.apiType}|${identifier}|${userId ?? ''}`;
    const n = this.rrCounters.get(key) ?? 0;
    this.rrCounters.set(key, (n + 1) % 1_000_000_007);
    return { ok: true, ...healthy[n % healthy.length]! };
  }

  private configFor(instance: InstanceRecord): BreakerConfig {
    const override = instance.routingParams['breaker'];
    return resolveBreakerConfig(this.breakerDefaults, typeof override === 'object' && override !== null ? override : undefined).config;
  }
}
