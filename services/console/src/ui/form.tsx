import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';

/** The api's per-field errors by field name, plus a message for the form as a whole. */
export interface FormErrors {
  form: string | null;
  fields: Record<string, string>;
}

export const noErrors: FormErrors = { form: null, fields: {} };

export function errorsOf(err: unknown): FormErrors {
  if (err instanceof ApiError) {
    const fields: Record<string, string> = {};
    for (const f of err.fields) fields[f.field] = f.message;
    return { form: err.message, fields };
  }
  return { form: (err as Error).message, fields: {} };
}

/** A labelled control with its help and error text wired to it (aria-describedby / aria-invalid). */
export function Field({ id, label, error, help, children }: { id: string; label: string; error?: string | undefined; help?: string; children: ComponentChildren }) {
  return (
    <div class={error ? 'field field-invalid' : 'field'}>
      <label for={id}>{label}</label>
      {children}
      {help && <small id={`${id}-help`} class="help">{help}</small>}
      {error && <small id={`${id}-error`} class="field-error" role="alert">{error}</small>}
    </div>
  );
}

/** aria attributes of a control inside `Field`. */
export const described = (id: string, error?: string, help?: string) => ({
  id,
  'aria-invalid': error ? ('true' as const) : undefined,
  'aria-describedby': [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined,
});
