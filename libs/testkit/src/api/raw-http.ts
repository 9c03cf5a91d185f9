import http from 'node:http';

/**
 * Requests exactly as written — no header added, none normalised — for what `fetch` will not send:
 * a body without a content type, `Content-Length: 0` with a JSON type, invalid UTF-8, garbage paths.
 */

export interface RawRequest {
  method: string;
  /** Already percent-encoded where needed: sent as is. */
  path: string;
  headers?: Record<string, string>;
  /** A string is sent as UTF-8; `Content-Length` is set from the bytes unless `headers` sets it or `chunked`. */
  body?: string | Buffer;
  /** Send the body with `Transfer-Encoding: chunked` instead of a length. */
  chunked?: boolean;
  /** Fail (and drop the connection) when no complete answer came in time. @default 10000 */
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json: unknown;
  /** Whether the request went out on a socket that had served an earlier request. */
  reusedSocket: boolean;
  localPort: number | undefined;
}

export function rawRequest(port: number, req: RawRequest, agent?: http.Agent): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    const headers: Record<string, string> = { ...req.headers };
    const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
    if (body && !req.chunked && !hasLength) headers['Content-Length'] = String(body.length);
    if (req.chunked) headers['Transfer-Encoding'] = 'chunked';
    const r = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: agent ?? false, setHost: true },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, reusedSocket: r.reusedSocket, localPort: r.socket?.localPort });
        });
      },
    );
    r.on('error', reject);
    r.setTimeout(req.timeoutMs ?? 10_000, () => r.destroy(new Error(`no answer within ${req.timeoutMs ?? 10_000} ms`)));
    if (body) r.write(body);
    r.end();
  });
}
