import { ERROR_CODES, type ErrorCode, type FieldError } from '@apg/contracts';
import type { z } from 'zod';

/**
 * An error with its class: the HTTP status and the stable `errorCode` the client can act on.
 * Thrown anywhere in a handler; the one error middleware turns it into the envelope.
 */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
    readonly fields?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = ERROR_CODES[errorCode];
  }
}

export const notFound = (what: string) => new HttpError('NOT_FOUND', `${what} not found`);

/** Turns zod issues into the per-field list that validation errors carry. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
}

export function validationError(error: z.ZodError): HttpError {
  const fields = fieldErrors(error);
  return new HttpError('VALIDATION_FAILED', fields.map((f) => `${f.field}: ${f.message}`).join(', '), fields);
}

/** Parses `input` with `schema` or throws a 400 naming every offending field. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw validationError(result.error);
  return result.data;
}

const ID_FORMAT = /^[0-9a-f]{32}$/;

/** A path id that cannot be an id names nothing: 404 at once, without a query. */
export function idOr404(raw: string | undefined, what: string): string {
  if (raw === undefined || !ID_FORMAT.test(raw)) throw notFound(`${what} ${raw ?? ''}`.trim());
  return raw;
}
