import { expect } from 'chai';
import { ReplyError } from 'ioredis';
import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSLockTimeout,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} from 'kafkajs';
import { DatabaseError } from 'pg';
import { ClassifiedError, classifyError, type ErrorClass } from './error-class';

const pg = (code: string, message = 'postgres says no') => Object.assign(new DatabaseError(message, 0, 'error'), { code, severity: 'ERROR' });
const sys = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: 'connect' });
const kafkaProtocol = (type: string, retriable: boolean) =>
  new KafkaJSProtocolError({ type, code: 1, retriable, message: type } as unknown as Error);
const reply = (message: string) => new (ReplyError as new (m: string) => Error)(message);

const cases: [string, unknown, ErrorClass][] = [
  // Infrastructure: the dependency is unwell, the same work succeeds later.
  ['connection refused', sys('ECONNREFUSED'), 'infrastructure'],
  ['connection reset', sys('ECONNRESET'), 'infrastructure'],
  ['socket timeout', sys('ETIMEDOUT'), 'infrastructure'],
  ['DNS failure', sys('EAI_AGAIN'), 'infrastructure'],
  ['IPv6 and IPv4 both refused', Object.assign(new AggregateError([sys('ECONNREFUSED'), sys('ECONNREFUSED')]), { code: 'ECONNREFUSED' }), 'infrastructure'],
  ['AbortSignal.timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'infrastructure'],
  ['pg admin shutdown 57P01', pg('57P01'), 'infrastructure'],
  ['pg crash shutdown 57P02', pg('57P02'), 'infrastructure'],
  ['pg cannot connect now 57P03', pg('57P03'), 'infrastructure'],
  ['pg statement timeout 57014', pg('57014'), 'infrastructure'],
  ['pg connection failure 08006', pg('08006'), 'infrastructure'],
  ['pg too many connections 53300', pg('53300'), 'infrastructure'],
  ['pg disk full 53100', pg('53100'), 'infrastructure'],
  ['pg serialization failure 40001', pg('40001'), 'infrastructure'],
  ['pg deadlock 40P01', pg('40P01'), 'infrastructure'],
  ['pg lock timeout 55P03', pg('55P03'), 'infrastructure'],
  ['pg I/O error 58030', pg('58030'), 'infrastructure'],
  ['pg connection lost', new Error('Connection terminated unexpectedly'), 'infrastructure'],
  ['pg-pool connect timeout', new Error('timeout exceeded when trying to connect'), 'infrastructure'],
  ['named query, connection lost', new Error('[pg:call_results.insert_batch] Connection terminated due to connection timeout'), 'infrastructure'],
  ['ioredis closed', new Error('Connection is closed.'), 'infrastructure'],
  ['ioredis offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'infrastructure'],
  ['ioredis max retries', Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' }), 'infrastructure'],
  ['redis loading', reply('LOADING Redis is loading the dataset in memory'), 'infrastructure'],
  ['redis busy script', reply('BUSY Redis is busy running a script.'), 'infrastructure'],
  ['redis OOM', reply('OOM command not allowed when used memory > maxmemory.'), 'infrastructure'],
  ['named redis call, loading', reply('[redis:breaker.save] LOADING Redis is loading'), 'infrastructure'],
  ['kafka connection', new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), 'infrastructure'],
  ['kafka request timeout', new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'), 'infrastructure'],
  ['kafka lock timeout', new (KafkaJSLockTimeout as unknown as new (m: string) => Error)('Timeout while acquiring lock'), 'infrastructure'],
  ['kafka leader moved', kafkaProtocol('NOT_LEADER_FOR_PARTITION', true), 'infrastructure'],
  ['kafka retries exhausted on a retriable error', new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('down'), { retryCount: 5, retryTime: 1000 }), 'infrastructure'],
  ['explicitly infrastructure', new ClassifiedError('infrastructure', 'upstream said later'), 'infrastructure'],
  // Data: the dependency refuses this value; retrying can never succeed.
  ['pg numeric out of range 22003', pg('22003'), 'data'],
  ['pg NUL in text 22021', pg('22021'), 'data'],
  ['pg invalid text 22P02', pg('22P02'), 'data'],
  ['pg check violation 23514', pg('23514'), 'data'],
  ['pg not null 23502', pg('23502'), 'data'],
  ['pg index row too large 54000', pg('54000'), 'data'],
  ['redis not an integer', reply('ERR value is not an integer or out of range'), 'data'],
  ['redis overflow', reply('ERR increment or decrement would overflow'), 'data'],
  ['kafka record too large', kafkaProtocol('MESSAGE_TOO_LARGE', false), 'data'],
  ['kafka request too large', kafkaProtocol('RECORD_LIST_TOO_LARGE', false), 'data'],
  ['explicitly data', new ClassifiedError('data', 'value refused'), 'data'],
  // Bugs: ours to fix; exit, restart, resume.
  ['TypeError', new TypeError("Cannot read properties of undefined (reading 'id')"), 'bug'],
  ['RangeError', new RangeError('Invalid array length'), 'bug'],
  ['ReferenceError', new ReferenceError('x is not defined'), 'bug'],
  ['SyntaxError', new SyntaxError('Unexpected token'), 'bug'],
  ['plain Error', new Error('something odd'), 'bug'],
  ['pg undefined column 42703 (code ahead of its migration)', pg('42703'), 'bug'],
  ['pg undefined function 42883', pg('42883'), 'bug'],
  ['pg internal error XX000', pg('XX000'), 'bug'],
  ['redis wrong type', reply('WRONGTYPE Operation against a key holding the wrong kind of value'), 'bug'],
  ['redis script error', reply('ERR user_script:1: attempt to compare nil with number'), 'bug'],
  ['kafka authorization', kafkaProtocol('TOPIC_AUTHORIZATION_FAILED', false), 'bug'],
  ['kafka non-retriable without cause', new KafkaJSError('The producer is disconnected', { retriable: false }), 'bug'],
  ['kafka retries exhausted on a bug', new KafkaJSNumberOfRetriesExceeded(new TypeError('boom'), { retryCount: 5, retryTime: 1000 }), 'bug'],
  ['one of several attempts a bug', new AggregateError([sys('ECONNREFUSED'), new TypeError('x')]), 'bug'],
  ['a code-like string on a non-pg error', Object.assign(new TypeError('x'), { code: '08006' }), 'bug'],
  ['a connection message on a TypeError', new TypeError('Connection terminated'), 'bug'],
  ['a thrown string', 'boom', 'bug'],
  ['undefined', undefined, 'bug'],
  ['null', null, 'bug'],
  ['explicitly bug', new ClassifiedError('bug', 'invariant broken'), 'bug'],
];

describe('classifyError', () => {
  for (const [name, err, want] of cases) {
    it(`${name} → ${want}`, () => expect(classifyError(err)).to.equal(want));
  }

  it('survives a cause cycle', () => {
    const a = new KafkaJSError('a', { retriable: false }) as KafkaJSError & { cause?: unknown };
    a.cause = a;
    expect(classifyError(a)).to.equal('bug');
  });
});
