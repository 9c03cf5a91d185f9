import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { spawnApi, type ChildService } from '../child-service';
import { HttpClient } from '../http-client';
import { ADMIN_TOKEN, openProbe, startAggregator, startIngestor, stackNames, type Probe, type TestAggregator } from '../stack';
import { waitFor } from '../wait-for';
import { openConsoleBrowser, type ConsoleBrowser } from './browser';

type Owned = { close(): Promise<void> };

/**
 * The admin console in a real headless Chromium against the real api binary, ingestor and aggregator: the
 * walk an operator takes. Log in (a wrong credential first), create a project and see its key once, register
 * instances through the validated form, report failures through the api and watch the breaker open on the
 * instance page without a reload, force it closed, run the playground, switch to Chinese (kept after a
 * reload), check the 390 px layout, log out (then the data endpoints answer 401). Any console error or page
 * error the test did not announce fails it. Every screen is saved under .run/screenshots/.
 */
describe('console: the admin console in a real browser', function () {
  this.timeout(240_000);
  let probe: Probe;
  let ingestor: Owned;
  let aggregator: TestAggregator;
  let api: ChildService & { http: HttpClient; admin: HttpClient };
  let b: ConsoleBrowser;
  let page: Page;
  let base: string;
  const state: { projectId: string; projectName: string; apiKey: string; primaryId: string } = { projectId: '', projectName: '', apiKey: '', primaryId: '' };

  before(async () => {
    const built = path.resolve(__dirname, '../../../../services/console/dist/index.html');
    if (!fs.existsSync(built)) throw new Error(`the console is not built (${built} missing): run \`npm run build\` first`);
    const names = stackNames();
    probe = await openProbe(names);
    ingestor = await startIngestor(names);
    aggregator = await startAggregator(names);
    api = await spawnApi(names);
    base = (api.http as unknown as { baseUrl: string }).baseUrl;
    b = await openConsoleBrowser(base);
    page = b.page;
  });

  after(async () => {
    await b?.close();
    await api?.kill();
    await aggregator?.close();
    await ingestor?.close();
    await probe?.close();
  });

  afterEach(() => {
    // Any console error or page error nobody expected fails the run at the step that caused it.
    const errors = b?.errors() ?? [];
    if (errors.length > 0) throw new Error(`browser console errors:\n${errors.join('\n')}`);
  });

  it('shows only the login form before login; the data endpoints answer 401', async () => {
    await page.goto('/console/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('navigation').count()).to.equal(0);
    const csp = (await page.request.get('/console/')).headers()['content-security-policy'];
    expect(csp).to.include("default-src 'self'");
    expect((await page.request.get('/api/admin/projects')).status()).to.equal(401);
    expect((await page.request.get('/api/admin/console/overview')).status()).to.equal(401);
    await b.shot('01-login');
  });

  it('refuses a wrong credential with a clear message, then logs in with Enter', async () => {
    const token = page.getByLabel('Admin token');
    await b.expecting(/status of 401/, async () => {
      await token.fill('this-is-not-the-admin-token');
      await token.press('Enter');
      await page.getByRole('alert').filter({ hasText: 'Wrong admin token.' }).waitFor();
    });
    await b.shot('02-login-wrong');
    await token.fill(ADMIN_TOKEN);
    await token.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'apg_console');
    expect(cookie?.httpOnly).to.equal(true);
    expect(cookie?.sameSite).to.equal('Strict');
    expect(cookie?.expires).to.be.above(Date.now() / 1000);
    await page.locator('.tile').first().waitFor();
    await b.shot('03-overview-empty');
  });

  it('creates a project: the key is shown once with a copy button, masked everywhere after', async () => {
    state.projectName = `shop-${Date.now().toString(36)}`;
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = page.getByRole('dialog');
    // Esc closes a dialog; reopen and submit with Enter.
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Project name').fill(state.projectName);
    await page.getByLabel('Project name').press('Enter');
    await page.getByRole('dialog', { name: 'Project created' }).waitFor();
    state.apiKey = await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue();
    expect(state.apiKey).to.match(/^gw_\w{20,}/);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await b.shot('04-project-created');
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator(`tr[data-project="${state.projectName}"]`);
    await row.waitFor();
    expect(await row.locator('code').innerText()).to.match(/^gw_\w+•+$/);
    expect(await page.content()).not.to.include(state.apiKey);
    await b.shot('05-projects');
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.locator('tr[data-key]').first().waitFor();
    expect(await page.content()).not.to.include(state.apiKey);
    await b.shot('06-api-keys');
    const projects = await api.admin.get<{ data: { id: string; name: string }[] }>('/api/admin/projects');
    state.projectId = projects.body.data.find((p) => p.name === state.projectName)!.id;
  });

  it('creates an API key shown once, edits it, revokes and deletes it after confirming', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByLabel('Description', { exact: true }).fill('throwaway key');
    await page.getByLabel('Description', { exact: true }).press('Enter');
    await page.getByRole('dialog', { name: 'API key created' }).waitFor();
    const plaintext = await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue();
    expect(plaintext).to.match(/^gw_\w{20,}/);
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('tr', { hasText: 'throwaway key' });
    await row.waitFor();
    expect(await row.locator('code').innerText()).to.equal(`${plaintext.slice(0, 8)}••••••••••••`);
    expect(await page.content()).not.to.include(plaintext);
    // Edit the description; a bad expiry is named at its field.
    await row.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Expires (optional)').fill('next tuesday');
    await b.expecting(/status of 400/, async () => {
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#key-exp-error').waitFor();
    });
    await page.getByLabel('Expires (optional)').fill('2099-01-01T00:00:00Z');
    await page.getByLabel('Description', { exact: true }).fill('throwaway key, edited');
    await page.getByRole('button', { name: 'Save' }).click();
    const edited = page.locator('tr', { hasText: 'throwaway key, edited' });
    await edited.waitFor();
    // Revoke asks first; the key then answers 401.
    await edited.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Please confirm' }).getByRole('button', { name: 'Revoke' }).click();
    await edited.locator('.badge[data-value="REVOKED"]').waitFor();
    expect((await new HttpClient(base).with({ 'api-key': plaintext }).get('/api/health/protected')).status).to.equal(401);
    await edited.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Please confirm' }).getByRole('button', { name: 'Delete' }).click();
    await edited.waitFor({ state: 'detached' });
  });

  it('registers instances through the validated form (bad values named at the field)', async () => {
    await page.getByRole('link', { name: 'Instances' }).click();
    await page.getByRole('combobox', { name: 'Project' }).selectOption(state.projectId);
    await page.getByRole('button', { name: 'Register instance' }).click();
    const form = page.getByRole('dialog');
    await form.getByLabel('API identifier', { exact: true }).fill('gpt4o');
    await form.getByLabel('Business id', { exact: true }).fill('primary');
    await form.getByLabel('Priority', { exact: true }).fill('10');
    await form.getByLabel('windowMs', { exact: true }).fill('5');
    await form.getByLabel('minCalls', { exact: true }).fill('3');
    await form.getByLabel('failureRateThreshold', { exact: true }).fill('0.5');
    await form.getByLabel('openDurationMs', { exact: true }).fill('600000');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('must be ≥ 1000').waitFor();
    expect(await form.getByLabel('windowMs', { exact: true }).getAttribute('aria-invalid')).to.equal('true');
    await b.shot('07-instance-form-invalid');
    await form.getByLabel('windowMs', { exact: true }).fill('60000');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Register instance' }).click();
    await form.getByLabel('API identifier', { exact: true }).fill('gpt4o');
    await form.getByLabel('Business id', { exact: true }).fill('backup');
    await form.getByLabel('Priority', { exact: true }).fill('1');
    await form.getByLabel('Business id', { exact: true }).press('Enter');
    await form.waitFor({ state: 'detached' });
    await page.locator('tr[data-instance="primary"] [data-breaker="CLOSED"]').waitFor();
    await page.locator('tr[data-instance="backup"]').waitFor();
    // Filters: breaker state and search.
    await page.getByRole('combobox', { name: 'Breaker state' }).selectOption('OPEN');
    await page.getByText('Nothing matches these filters.').waitFor();
    await page.getByRole('combobox', { name: 'Breaker state' }).selectOption('');
    await page.getByRole('searchbox', { name: 'Search business id or identifier' }).fill('back');
    expect(await page.locator('tr[data-instance]').count()).to.equal(1);
    await page.getByRole('searchbox', { name: 'Search business id or identifier' }).fill('');
    await b.shot('08-instances');
    const listed = await api.admin.get<{ data: { id: string; businessId: string; routingParams: { breaker?: { windowMs?: number } } }[] }>(`/api/admin/instances?projectId=${state.projectId}`);
    const primary = listed.body.data.find((i) => i.businessId === 'primary')!;
    expect(primary.routingParams.breaker?.windowMs).to.equal(60000);
    state.primaryId = primary.id;
  });

  it('shows the breaker open on the instance page without a reload when failures are reported, then forces it closed', async () => {
    await page.locator('tr[data-instance="primary"]').getByRole('link', { name: 'primary' }).click();
    await page.locator('.breaker-now[data-breaker="CLOSED"]').waitFor();
    // A marker on the page's window: still there at the end means the page was never reloaded.
    await page.evaluate('window.apgMarker = 42');
    const tenant = new HttpClient(base).with({ 'api-key': state.apiKey });
    for (let i = 0; i < 6; i++) {
      const r = await tenant.post('/api/gateway/report-result', { instanceId: state.primaryId, businessId: 'primary', success: false, latencyMs: 40 + i, statusCode: 503, errorType: 'UPSTREAM_5XX' });
      expect(r.status, r.text).to.equal(200);
    }
    // And some successful calls of the backup, at various latencies, for the charts and percentiles.
    const backup = (await api.admin.get<{ data: { id: string; businessId: string }[] }>(`/api/admin/instances?projectId=${state.projectId}`)).body.data.find((i) => i.businessId === 'backup')!;
    for (let i = 0; i < 20; i++) {
      const r = await tenant.post('/api/gateway/report-result', { instanceId: backup.id, businessId: 'backup', success: i % 10 !== 0, latencyMs: 80 + i * 15 });
      expect(r.status, r.text).to.equal(200);
    }
    await page.locator('.breaker-now[data-breaker="OPEN"]').waitFor({ timeout: 60_000 });
    expect(await page.evaluate('window.apgMarker')).to.equal(42);
    await page.locator('[data-transition="CLOSED>OPEN"]').waitFor({ timeout: 30_000 });
    await waitFor('window figures', async () => (await page.locator('[data-kv="calls"]').innerText()) !== '0', { timeoutMs: 30_000 });
    // Percentiles come from the ingestor's minute rollups: they show once the reports are written (polled every 5 s).
    await waitFor('latency percentiles', async () => !(await page.locator('[data-kv="latency"]').innerText()).startsWith('—'), { timeoutMs: 60_000 });
    await b.shot('09-instance-open');
    await page.getByRole('button', { name: 'Force closed' }).click();
    await page.locator('.breaker-now[data-breaker="FORCED_CLOSED"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-transition="OPEN>FORCED_CLOSED"]').waitFor({ timeout: 30_000 });
    // Force open asks first; cancelling leaves it as it was.
    await page.getByRole('button', { name: 'Force open' }).click();
    await page.getByRole('dialog', { name: 'Please confirm' }).waitFor();
    await page.keyboard.press('Escape');
    expect(await page.locator('.breaker-now').getAttribute('data-breaker')).to.equal('FORCED_CLOSED');
    await b.shot('10-instance-forced-closed');
  });

  it('runs the selection playground and explains every candidate in a table', async () => {
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByRole('combobox', { name: 'Project' }).selectOption(state.projectId);
    await page.getByLabel('API identifier').fill('gpt4o');
    await page.getByRole('combobox', { name: 'Strategy' }).selectOption('PRIORITY');
    await page.getByRole('button', { name: 'Run select' }).click();
    await page.locator('[data-chosen]').waitFor();
    expect(await page.locator('[data-chosen]').getAttribute('data-chosen')).to.equal('primary');
    expect(await page.locator('tr[data-candidate]').count()).to.equal(2);
    expect(await page.locator('tr[data-candidate="backup"]').innerText()).to.include('lower priority tier');
    await b.shot('11-playground');
  });

  it('shows the overview with the reported calls and refreshes until paused', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('[data-state-count="FORCED_CLOSED"]').waitFor();
    // The rollups the figures come from are written by the ingestor a moment after the reports.
    await waitFor('p95 on the overview', async () => {
      await page.reload();
      await page.locator('.tile').nth(5).waitFor();
      return !(await page.locator('.tile').nth(5).innerText()).includes('—');
    }, { timeoutMs: 60_000, intervalMs: 2000 });
    expect(await page.locator('[data-state-count="FORCED_CLOSED"]').innerText()).to.equal('1');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('Paused').first().waitFor();
    await page.getByRole('radio', { name: '6h' }).click();
    await page.getByRole('radio', { name: '1h' }).click();
    await page.locator('.chart canvas').first().waitFor();
    await b.shot('12-overview');
    await page.getByRole('button', { name: 'Resume' }).click();
  });

  it('switches to Chinese and remembers it after a reload', async () => {
    await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
    await page.getByRole('heading', { name: '概览' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: '概览' }).waitFor();
    expect(await page.getByRole('link', { name: '实例' }).count()).to.equal(1);
    await page.getByText('按熔断状态统计的实例').waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await b.shot('13-overview-zh');
    await page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('stays readable at 390 px: no horizontal scrolling on any screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, shot] of [['#/overview', '14-narrow-overview'], [`#/instances?project=${state.projectId}`, '15-narrow-instances'], [`#/instances/${state.primaryId}`, '16-narrow-instance']] as const) {
      await page.goto(`/console/${hash}`);
      await page.locator('main.content h1').waitFor();
      await page.waitForTimeout(300);
      const width = await page.evaluate('document.documentElement.scrollWidth');
      expect(width, `${hash} scroll width`).to.be.at.most(391);
      await b.shot(shot);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('deletes a project only after confirming; its key stops working', async () => {
    await page.getByRole('link', { name: 'Projects' }).click();
    const row = page.locator(`tr[data-project="${state.projectName}"]`);
    await row.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Please confirm' });
    await confirm.getByText(state.projectName).waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await row.waitFor();
    await row.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await new HttpClient(base).with({ 'api-key': state.apiKey }).get('/api/health/protected')).status).to.equal(401);
  });

  it('logs out: back to the login form, and the old cookie opens nothing', async () => {
    const cookie = (await page.context().cookies()).find((c) => c.name === 'apg_console')!;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const old = new HttpClient(base).with({ cookie: `apg_console=${cookie.value}` });
    expect((await old.get('/api/admin/projects')).status).to.equal(401);
    expect((await old.get('/api/admin/console/overview')).status).to.equal(401);
    expect((await page.request.get('/api/admin/instances/all')).status()).to.equal(401);
    expect(b.errors()).to.deep.equal([]);
  });
});
