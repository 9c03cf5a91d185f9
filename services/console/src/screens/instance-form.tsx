import { useState } from 'preact/hooks';
import { api, type Instance } from '../api';
import { useApp } from '../ui/context';
import { Dialog } from '../ui/dialog';
import { described, errorsOf, Field, noErrors, type FormErrors } from '../ui/form';

export const API_TYPES = ['MODEL', 'PAYMENT_GATEWAY', 'NOTIFICATION_SERVICE', 'SMS_SERVICE', 'EMAIL_SERVICE', 'FILE_STORAGE', 'IMAGE_PROCESSING', 'OTHER'];

interface Bound { min: number; max: number; int?: boolean; minExclusive?: boolean }

/** The api's documented bounds (README "Routing parameters"), checked here first so a typo is caught at the field. */
const ROUTING: Record<string, Bound> = {
  weight: { min: 0, max: 1_000_000 },
  priority: { min: -1_000_000, max: 1_000_000, int: true },
  costPerUnit: { min: 0, max: 1e9 },
  rpm: { min: 1, max: 1e9, int: true },
  tpm: { min: 1, max: 1e9, int: true },
};
const BREAKER: Record<string, Bound> = {
  windowMs: { min: 1000, max: 3_600_000, int: true },
  minCalls: { min: 1, max: 10_000, int: true },
  failureRateThreshold: { min: 0, max: 1, minExclusive: true },
  consecutiveFailures: { min: 1, max: 10_000, int: true },
  openDurationMs: { min: 1000, max: 3_600_000, int: true },
  maxOpenDurationMs: { min: 1000, max: 3_600_000, int: true },
  halfOpenProbes: { min: 1, max: 100, int: true },
  slowCallMs: { min: 1, max: 3_600_000, int: true },
  slowCallRateThreshold: { min: 0, max: 1, minExclusive: true },
};

const LABEL_KEYS: Record<string, 'weight' | 'priority' | 'costPerUnit' | 'rpm' | 'tpm'> = { weight: 'weight', priority: 'priority', costPerUnit: 'costPerUnit', rpm: 'rpm', tpm: 'tpm' };

function check(value: string, b: Bound): string | null {
  if (value.trim() === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n)) return 'must be a number';
  if (b.int && !Number.isInteger(n)) return 'must be a whole number';
  if (b.minExclusive ? n <= b.min : n < b.min) return b.minExclusive ? `must be > ${b.min}` : `must be ≥ ${b.min}`;
  if (n > b.max) return `must be ≤ ${b.max}`;
  return null;
}

const str = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? String(v) : '');

/** Register (no `existing`) or edit an instance: identity, routing parameters, breaker overrides, metadata. */
export function InstanceForm({ projectId, existing, onClose, onSaved }: { projectId: string; existing?: Instance; onClose: () => void; onSaved: (i: Instance) => void }) {
  const { t } = useApp();
  const rp = existing?.routingParams ?? {};
  const br = (rp['breaker'] as Record<string, unknown> | undefined) ?? {};
  const [apiIdentifier, setApiIdentifier] = useState(existing?.apiIdentifier ?? '');
  const [apiType, setApiType] = useState(existing?.apiType ?? 'MODEL');
  const [businessId, setBusinessId] = useState(existing?.businessId ?? '');
  const [userId, setUserId] = useState(existing?.userId ?? '');
  const [routing, setRouting] = useState<Record<string, string>>(Object.fromEntries(Object.keys(ROUTING).map((k) => [k, str(rp[k])])));
  const [breaker, setBreaker] = useState<Record<string, string>>(Object.fromEntries(Object.keys(BREAKER).map((k) => [k, str(br[k])])));
  const [metadata, setMetadata] = useState(existing?.metadata && Object.keys(existing.metadata).length ? JSON.stringify(existing.metadata, null, 2) : '');
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);

  const validate = (): FormErrors => {
    const fields: Record<string, string> = {};
    if (!apiIdentifier.trim()) fields['apiIdentifier'] = 'required';
    if (!businessId.trim()) fields['businessId'] = 'required';
    for (const [k, b] of Object.entries(ROUTING)) {
      const e = check(routing[k] ?? '', b);
      if (e) fields[`routingParams.${k}`] = e;
    }
    for (const [k, b] of Object.entries(BREAKER)) {
      const e = check(breaker[k] ?? '', b);
      if (e) fields[`routingParams.breaker.${k}`] = e;
    }
    if (metadata.trim()) {
      try {
        const m: unknown = JSON.parse(metadata);
        if (!m || typeof m !== 'object' || Array.isArray(m)) fields['metadata'] = t('invalidJson');
      } catch {
        fields['metadata'] = t('invalidJson');
      }
    }
    return { form: null, fields };
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const v = validate();
    if (Object.keys(v.fields).length > 0) {
      setErrors(v);
      document.getElementById(`if-${Object.keys(v.fields)[0]!.replace(/\./g, '-')}`)?.focus();
      return;
    }
    // Keys of routingParams this form does not know are the client's own: kept as they were.
    const routingParams: Record<string, unknown> = { ...rp };
    for (const k of Object.keys(ROUTING)) {
      if (routing[k]?.trim()) routingParams[k] = Number(routing[k]);
      else delete routingParams[k];
    }
    const breakerParams: Record<string, number> = {};
    for (const k of Object.keys(BREAKER)) if (breaker[k]?.trim()) breakerParams[k] = Number(breaker[k]);
    if (Object.keys(breakerParams).length) routingParams['breaker'] = breakerParams;
    else delete routingParams['breaker'];
    const body = {
      apiIdentifier,
      ...(userId ? { userId } : {}),
      routingParams,
      ...(metadata.trim() ? { metadata: JSON.parse(metadata) as Record<string, unknown> } : {}),
    };
    setBusy(true);
    try {
      const saved = existing
        ? await api.put<Instance>(`/api/admin/instances/${existing.id}`, body)
        : await api.post<Instance>('/api/admin/instances', { ...body, projectId, apiType, businessId });
      onSaved(saved);
    } catch (err) {
      setErrors(errorsOf(err));
      setBusy(false);
    }
  };

  const fieldId = (name: string) => `if-${name.replace(/\./g, '-')}`;
  const numberField = (group: 'routing' | 'breaker', k: string, label: string) => {
    const name = group === 'routing' ? `routingParams.${k}` : `routingParams.breaker.${k}`;
    const values = group === 'routing' ? routing : breaker;
    const set = group === 'routing' ? setRouting : setBreaker;
    const b = (group === 'routing' ? ROUTING : BREAKER)[k]!;
    return (
      <Field key={name} id={fieldId(name)} label={label} error={errors.fields[name]}>
        <input
          {...described(fieldId(name), errors.fields[name])}
          name={name}
          inputMode="decimal"
          placeholder={`${b.min} – ${b.max}`}
          value={values[k] ?? ''}
          onInput={(e) => {
            const value = e.currentTarget.value;
            set((prev) => ({ ...prev, [k]: value }));
          }}
        />
      </Field>
    );
  };

  return (
    <Dialog title={existing ? `${t('editInstance')} · ${existing.businessId}` : t('register')} onClose={onClose} wide>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div class="form-grid">
          <Field id="if-apiIdentifier" label={t('apiIdentifier')} error={errors.fields['apiIdentifier']}>
            <input {...described('if-apiIdentifier', errors.fields['apiIdentifier'])} name="apiIdentifier" required maxLength={128} value={apiIdentifier} onInput={(e) => setApiIdentifier(e.currentTarget.value)} />
          </Field>
          <Field id="if-apiType" label={t('apiType')} error={errors.fields['apiType']}>
            <select {...described('if-apiType', errors.fields['apiType'])} name="apiType" disabled={Boolean(existing)} value={apiType} onChange={(e) => setApiType(e.currentTarget.value)}>
              {API_TYPES.map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
          </Field>
          <Field id="if-businessId" label={t('businessId')} error={errors.fields['businessId']}>
            <input {...described('if-businessId', errors.fields['businessId'])} name="businessId" required maxLength={128} disabled={Boolean(existing)} value={businessId} onInput={(e) => setBusinessId(e.currentTarget.value)} />
          </Field>
          <Field id="if-userId" label={`${t('userId')} (${t('optional')})`} error={errors.fields['userId']}>
            <input {...described('if-userId', errors.fields['userId'])} name="userId" maxLength={64} value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
          </Field>
        </div>
        <fieldset>
          <legend>{t('routing')}</legend>
          <div class="form-grid">{Object.keys(ROUTING).map((k) => numberField('routing', k, t(LABEL_KEYS[k]!)))}</div>
        </fieldset>
        <fieldset>
          <legend>{t('breakerOverrides')}</legend>
          <div class="form-grid">{Object.keys(BREAKER).map((k) => numberField('breaker', k, k))}</div>
        </fieldset>
        <Field id="if-metadata" label={`${t('metadata')} (${t('optional')})`} error={errors.fields['metadata']}>
          <textarea {...described('if-metadata', errors.fields['metadata'])} name="metadata" rows={3} value={metadata} onInput={(e) => setMetadata(e.currentTarget.value)} />
        </Field>
        {errors.form && <p class="form-error" role="alert">{errors.form}</p>}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? t('saving') : t('save')}</button>
        </div>
      </form>
    </Dialog>
  );
}
