import type { RequestHandler } from 'express';
import type { FieldError } from '@apg/contracts';
import { HttpError } from './http-error';

/** Nesting allowed in a JSON body; real bodies (a batch of instances with metadata) stay far below. */
export const MAX_JSON_DEPTH = 64;

// With the `u` flag a valid surrogate pair is one code point, so only a lone surrogate is \p{Cs}.
const LONE_SURROGATE = /\p{Cs}/u;

interface Node {
  value: unknown;
  key: string;
  parent: Node | null;
  depth: number;
}

const fieldOf = (node: Node) => {
  const keys: string[] = [];
  for (let n: Node | null = node; n?.parent; n = n.parent) keys.unshift(n.key);
  return keys.join('.') || '(body)';
};

/** The first problem in a parsed body, found without recursion (the body may be nested 100 000 deep). */
export function jsonBodyProblem(body: unknown, maxDepth: number = MAX_JSON_DEPTH): FieldError | null {
  const stack: Node[] = [{ value: body, key: '', parent: null, depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return { field: fieldOf(node), message: 'is not well-formed Unicode (lone UTF-16 surrogate)' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (node.depth >= maxDepth) return { field: fieldOf(node), message: `nests deeper than ${maxDepth} levels` };
    for (const [key, child] of Object.entries(value)) {
      const next: Node = { value: child, key, parent: node, depth: node.depth + 1 };
      if (LONE_SURROGATE.test(key)) return { field: fieldOf(next), message: 'has a key that is not well-formed Unicode (lone UTF-16 surrogate)' };
      stack.push(next);
    }
  }
  return null;
}

/**
 * What `express.json()` cannot enforce, checked once for every route: a bounded nesting depth and
 * well-formed Unicode. Both are valid JSON, yet a 100 000-deep object overflows the stack of every
 * recursive consumer (JSON.stringify when it is stored: a 500), and a lone surrogate (`"\ud800"`) is
 * refused by Postgres' jsonb (a 500) or silently replaced by U+FFFD in a text column, which would break
 * the byte-for-byte round trip of ids. Both are a 400 naming the field.
 */
export function jsonBodyGuard(maxDepth: number = MAX_JSON_DEPTH): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null) return next();
    const problem = jsonBodyProblem(body, maxDepth);
    if (problem) return next(new HttpError('VALIDATION_FAILED', `${problem.field}: ${problem.message}`, [problem]));
    next();
  };
}
