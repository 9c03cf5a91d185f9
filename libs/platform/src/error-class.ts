/**
 * What a consumer does with an error depends only on its class:
 *
 * - `infrastructure` — a dependency is unhealthy (connection refused or reset, timeouts, Postgres out of
 *   connections or shutting down, serialization failures and deadlocks, Redis loading or down, Kafka's
 *   retriable errors). The same work will succeed later: hold the batch and retry with capped backoff,
 *   visibly, never dead-letter.
 * - `data` — the dependency is healthy and refuses *this value* (Postgres class 22 data exception and 23
 *   integrity violation, 54 program limits such as an index row too large, Redis "value is not an
 *   integer or out of range", a Kafka record too large). Retrying can never succeed: the offending events
 *   go to the DLQ and the partition moves on.
 * - `bug` — everything else, including every error we do not recognise: TypeError, RangeError,
 *   ReferenceError, a Postgres syntax error or missing column (code ahead of its migration), a Kafka
 *   authorization failure. The process logs and exits non-zero; its supervisor restarts it and it resumes
 *   from the committed offsets (nothing lost, nothing twice).
 *
 * Unknown means bug on purpose: retrying an unknown error for ever is exactly how a partition wedges
 * silently, while a crash loop is loud (restart counts, readiness) and costs little, because offsets are
 * committed only after the writes. An adapter that knows better wraps its error in a
 * {@link ClassifiedError}, which is believed as is.
 */
export type ErrorClass = 'infrastructure' | 'data' | 'bug';

/** An error whose class its thrower decided (e.g. an adapter that knows a refusal is about the data). */
export class ClassifiedError extends Error {
  constructor(readonly errorClass: ErrorClass, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClassifiedError';
  }
}

/** Node socket and DNS error codes: the peer is unreachable or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTCONN', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** Postgres SQLSTATEs of an unhealthy or busy server, or of a transaction that lost a race. */
function pgClass(code: string): ErrorClass {
  const cls = code.slice(0, 2);
  // 08 connection exception, 53 insufficient resources (too many connections, disk full, out of memory),
  // 58 system error (I/O), 57P0x admin/crash shutdown and "cannot connect now", 57014 statement timeout
  // or cancel, 40001 serialization failure, 40P01 deadlock, 55P03 lock not available (lock_timeout).
  if (cls === '08' || cls === '53' || cls === '58' || code.startsWith('57P0') || code === '57014'
    || code === '40001' || code === '40P01' || code === '55P03' || code === '55006') return 'infrastructure';
  // 22 data exception (out of range, invalid text, NUL byte…), 23 integrity violation (check, not
  // null, foreign key), 54 program limit exceeded (index row or array too large): about the value.
  if (cls === '22' || cls === '23' || cls === '54') return 'data';
  return 'bug';
}

/** Redis reply prefixes of a server that is not ready or out of room: retry later. */
const REDIS_TRANSIENT = /^(?:LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|MISCONF|OOM|NOSCRIPT)\b/;
/** Redis replies that refuse a value (an increment out of range, a NaN). */
const REDIS_DATA = /^ERR (?:value is not an integer or out of range|value is not a valid float|increment or decrement would overflow|increment would produce NaN or Infinity|string exceeds maximum allowed size)/;
/** Messages of pg, pg-pool and ioredis for a lost or unobtainable connection (they carry no code). */
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|Stream isn't writeable|Query read timeout|socket hang up|Reached the max retries per request limit/i;
/** Kafka protocol errors about one record (never fixed by retrying it). */
const KAFKA_DATA_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);
/** Kafka errors that are non-retriable by kafkajs' flag but only mean "not now". */
const KAFKA_TRANSIENT_NAMES = new Set(['KafkaJSTimeout', 'KafkaJSLockTimeout', 'KafkaJSGroupCoordinatorNotFound', 'KafkaJSNoBrokerAvailableError']);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  retriable?: unknown;
  type?: unknown;
  cause?: unknown;
  errors?: unknown;
  errorClass?: unknown;
}

/** Classifies any thrown value; never throws. See {@link ErrorClass} for the rules and the default. */
export function classifyError(err: unknown, depth = 0): ErrorClass {
  if (typeof err !== 'object' || err === null || depth > 5) return 'bug';
  const e = err as ErrorLike;
  if (err instanceof ClassifiedError) return err.errorClass;
  const name = typeof e.name === 'string' ? e.name : '';
  // namedIo prefixes messages with "[system:name] "; the client's own text follows.
  const message = typeof e.message === 'string' ? e.message.replace(/^\[[a-z]+:[^\]]*\] /, '') : '';
  const code = typeof e.code === 'string' ? e.code : '';

  // Several attempts failed together (Node trying IPv6 then IPv4, kafkajs trying every broker):
  // infrastructure only if every one of them was.
  if (Array.isArray(e.errors) && e.errors.length > 0 && (name === 'AggregateError' || name === 'KafkaJSAggregateError')) {
    const classes = e.errors.map((x) => classifyError(x, depth + 1));
    if (classes.every((c) => c === 'infrastructure')) return 'infrastructure';
    return classes.includes('bug') ? 'bug' : 'data';
  }
  if (NETWORK_CODES.has(code)) return 'infrastructure';
  if (name === 'TimeoutError' || name === 'ConnectionTimeoutError') return 'infrastructure';

  if (name.startsWith('KafkaJS')) {
    if (typeof e.type === 'string' && KAFKA_DATA_TYPES.has(e.type)) return 'data';
    if (e.retriable === true || KAFKA_TRANSIENT_NAMES.has(name)) return 'infrastructure';
    // "Gave up after N retries" and other wrappers: what matters is what they gave up on.
    if (e.cause !== undefined) return classifyError(e.cause, depth + 1);
    return 'bug';
  }
  if (name === 'ReplyError') {
    if (REDIS_TRANSIENT.test(message)) return 'infrastructure';
    if (REDIS_DATA.test(message)) return 'data';
    return 'bug';
  }
  if (name === 'MaxRetriesPerRequestError') return 'infrastructure';
  // A Postgres error (pg's DatabaseError) carries a five-character SQLSTATE.
  if (/^[0-9A-Z]{5}$/.test(code) && (name === 'error' || name === 'DatabaseError' || 'severity' in e)) return pgClass(code);
  // Plain Errors of the clients for a dead connection; the language's own errors never match these.
  if ((name === 'Error' || name === '') && CONNECTION_MESSAGES.test(message)) return 'infrastructure';
  return 'bug';
}
