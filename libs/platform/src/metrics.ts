import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A fresh registry per service instance (tests get their own), with default process metrics. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'apg_' });
  // prom-client's `*_total` gauges break the naming rule `promtool check metrics` enforces (`_total` means a
  // counter); the same figures stay available per type in `apg_nodejs_active_{handles,requests,resources}`.
  for (const kind of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`apg_nodejs_active_${kind}_total`);
  return registry;
}

/** Duration of named I/O calls (queries, Redis commands); `name` is a fixed label, never an id. */
export function createIoMetrics(registry: Registry) {
  return {
    duration: new Histogram({
      name: 'apg_io_duration_seconds',
      help: 'Duration of named database, Redis and Kafka calls',
      labelNames: ['system', 'name', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'apg_io_errors_total',
      help: 'Failed named I/O calls',
      labelNames: ['system', 'name'] as const,
      registers: [registry],
    }),
  };
}
export type IoMetrics = ReturnType<typeof createIoMetrics>;

/** Runs one named I/O call, timing it; the name shows in metrics and in the error thrown. */
export async function namedIo<T>(
  io: IoMetrics | undefined,
  system: 'pg' | 'redis' | 'kafka',
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const end = io?.duration.startTimer({ system, name });
  try {
    const result = await fn();
    end?.({ outcome: 'ok' });
    return result;
  } catch (err) {
    end?.({ outcome: 'error' });
    io?.errors.inc({ system, name });
    if (err instanceof Error && !err.message.startsWith(`[${system}:`)) {
      err.message = `[${system}:${name}] ${err.message}`;
    }
    throw err;
  }
}
