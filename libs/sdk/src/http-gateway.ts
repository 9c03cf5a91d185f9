import { GatewayError, retryAfterOf } from './errors';
import { LinkedAbort } from './timers';

interface Envelope<T> {
  code?: unknown;
  message?: unknown;
  data?: T;
  errorCode?: unknown;
  errors?: unknown;
}

/** Longest response body read from the gateway; an answer larger than this is not the gateway's. */
const MAX_RESPONSE_CHARS = 4 * 1024 * 1024;

/**
 * The gateway's HTTP API under `<baseUrl>/api`, through Node's global `fetch`: every request carries the
 * `api-key` header and a timeout, and every answer is unwrapped from the `{code, message, data}` envelope
 * or turned into a {@link GatewayError} with the gateway's `errorCode`.
 */
export class HttpGateway {
  private readonly root: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    // The origin, as AgentX configures it; a trailing slash or an `/api` suffix is tolerated, not doubled.
    this.root = `${trimTrailingSlashes(baseUrl).replace(/\/api$/, '')}/api`;
  }

  /** POSTs `body` to `path` and returns the envelope's `data` (undefined when it has none). */
  async post<T>(path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const link = new LinkedAbort([signal], timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(this.root + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': this.apiKey },
        body: JSON.stringify(body),
        signal: link.signal,
      });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw new GatewayError(0, 'ABORTED', `request to ${path} aborted by the caller`, { cause: err });
      if (link.timedOut) throw new GatewayError(0, 'GATEWAY_TIMEOUT', `the gateway did not answer ${path} within ${timeoutMs} ms`, { cause: err });
      throw new GatewayError(0, 'GATEWAY_UNREACHABLE', `the gateway could not be reached for ${path}: ${(err as Error).message}`, { cause: err });
    } finally {
      link.dispose();
    }
    return this.unwrap<T>(path, res, text);
  }

  private unwrap<T>(path: string, res: Response, text: string): T {
    let envelope: Envelope<T> | null = null;
    if (text.length <= MAX_RESPONSE_CHARS) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) envelope = parsed;
      } catch {
        // Not JSON: a proxy's error page, for instance. Reported below by status.
      }
    }
    const message = typeof envelope?.message === 'string' ? envelope.message : `${res.status} ${res.statusText}`;
    if (res.status === 200 && envelope && Number(envelope.code) === 200) return envelope.data as T;
    const errorCode = typeof envelope?.errorCode === 'string' ? envelope.errorCode : res.status === 200 ? 'BAD_GATEWAY_RESPONSE' : `HTTP_${res.status}`;
    const details: ConstructorParameters<typeof GatewayError>[3] = {};
    const retryAfterMs = retryAfterOf(res.headers);
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    if (Array.isArray(envelope?.errors)) details.fields = envelope.errors as { field: string; message: string }[];
    throw new GatewayError(res.status, errorCode, `${path}: ${message}`, details);
  }
}

/** Without trailing slashes (a loop, not a `/\/+$/` regex, which backtracks quadratically on many slashes). */
function trimTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 47) end--;
  return s.slice(0, end);
}
