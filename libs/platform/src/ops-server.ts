import http from 'node:http';
import type { Registry } from 'prom-client';

/**
 * Whether `check` succeeds within `ms`: a readiness probe must answer even when a dependency hangs (a
 * stalled connection never errors), so a ping that takes too long counts as down.
 */
export async function answersWithin(check: () => Promise<unknown>, ms = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([check().then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface OpsServer {
  port(): number;
  close(): Promise<void>;
}

/**
 * `/healthz` (alive), `/readyz` (dependencies) and `/metrics` for the worker services, on plain
 * node:http: the consumers have no other HTTP surface, so express would be dead weight.
 */
export async function startOpsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: () => Promise<Record<string, boolean>>;
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const handle = async () => {
      if (req.url === '/healthz') return send(200, '{"status":"UP"}');
      if (req.url === '/readyz') {
        const deps = await opts.readiness();
        const up = Object.values(deps).every(Boolean);
        return send(up ? 200 : 503, JSON.stringify({ status: up ? 'UP' : 'DOWN', dependencies: deps }));
      }
      if (req.url === '/metrics') return send(200, await opts.registry.metrics(), opts.registry.contentType);
      return send(404, '{"errorCode":"NOT_FOUND"}');
    };
    handle().catch((err: Error) => send(500, JSON.stringify({ errorCode: 'INTERNAL_ERROR', message: err.message })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: () => (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
