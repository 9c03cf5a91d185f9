import { z } from 'zod';
import {
  BREAKER_BOUNDS,
  BREAKER_KEYS,
  NUMERIC_STRING_MAX_LENGTH,
  ROUTING_PARAM_BOUNDS,
  ROUTING_PARAM_KEYS,
  describeBound,
  routingParamsProblems,
  type NumericBound,
} from '@apg/core';

/**
 * `routingParams` of an instance as the api accepts it. The bounds and the checks are the core's
 * (`routingParamsProblems`), the same ones `routingParamsOf` and `breakerConfigOf` apply to stored rows, so what
 * is accepted here is what selection and the aggregator use, and the two cannot drift. Values are stored as sent
 * (a numeric string stays a string); keys the gateway does not know are the client's own and pass untouched.
 */

/** JSON Schema of one bounded number, for the OpenAPI document only (validation is the core's). */
function numberDoc(bound: NumericBound): Record<string, unknown> {
  const doc: Record<string, unknown> = { type: bound.integer ? 'integer' : 'number', maximum: bound.max };
  if (bound.minExclusive) doc['exclusiveMinimum'] = bound.min;
  else doc['minimum'] = bound.min;
  return doc;
}

const routingKeyDocs = Object.fromEntries(
  (Object.entries(ROUTING_PARAM_KEYS) as [keyof typeof ROUTING_PARAM_KEYS, readonly string[]][]).flatMap(([field, keys]) =>
    keys.map((key) => {
      const bound = ROUTING_PARAM_BOUNDS[field];
      const alias = key === field ? '' : ` Read as \`${field}\` when no earlier key of it holds a usable value.`;
      return [
        key,
        {
          description: `${describeBound(bound)}, or the same as a plain decimal string of at most ${NUMERIC_STRING_MAX_LENGTH} characters; null = not set.${alias}`,
          anyOf: [numberDoc(bound), { type: 'string', maxLength: NUMERIC_STRING_MAX_LENGTH }, { type: 'null' }],
        },
      ];
    }),
  ),
);

const breakerDoc = {
  description: 'Per-instance overrides of the global breaker defaults. Only these keys, each a JSON number; openDurationMs may not exceed maxOpenDurationMs when both are set.',
  anyOf: [
    {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(BREAKER_KEYS.map((key) => [key, { ...numberDoc(BREAKER_BOUNDS[key]), description: describeBound(BREAKER_BOUNDS[key]) }])),
    },
    { type: 'null' },
  ],
};

export const RoutingParamsSchema = z
  .record(z.string(), z.unknown())
  .superRefine((params, ctx) => {
    for (const p of routingParamsProblems(params)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  })
  .meta({
    description:
      'Routing settings of the instance. Out-of-bounds values answer 400 VALIDATION_FAILED naming the field (e.g. `routingParams.breaker.windowMs`); other keys are kept as sent.',
    properties: { ...routingKeyDocs, breaker: breakerDoc },
  });
export type RoutingParamsInput = z.infer<typeof RoutingParamsSchema>;
