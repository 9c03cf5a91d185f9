// A small keep-alive JSON client for the sequential loops (freshness, breaker reaction, setup):
// node:http with a pooled agent, so one request costs well under a millisecond of client time.
import http from 'node:http';

export interface JsonResponse<T> {
  status: number;
  body: T;
}

/** The gateway's envelope. */
export interface Envelope<T = unknown> {
  code: number;
  message: string;
  data?: T;
  errorCode?: string;
}

export class JsonClient {
  constructor(
    private readonly port: number,
    private readonly headers: Record<string, string> = {},
    private readonly agent: http.Agent = new http.Agent({ keepAlive: true, maxSockets: 32 }),
  ) {}

  with(headers: Record<string, string>): JsonClient {
    return new JsonClient(this.port, { ...this.headers, ...headers }, this.agent);
  }

  request<T = Envelope>(method: string, path: string, body?: unknown): Promise<JsonResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1', port: this.port, method, path, agent: this.agent,
          headers: { ...this.headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  post<T = Envelope>(path: string, body?: unknown): Promise<JsonResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  get<T = Envelope>(path: string): Promise<JsonResponse<T>> {
    return this.request<T>('GET', path);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws with the response when it is not a 200; returns `data`. */
export function expect200<T>(what: string, res: JsonResponse<Envelope<T>>): T {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  return res.body.data as T;
}
