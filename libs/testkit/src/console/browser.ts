import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (installed by infra/scripts/ensure-chromium.sh); playwright never downloads a browser here. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '../../../..');
/** Screenshots of each run (git-ignored, like everything under .run/). */
export const SCREENSHOT_DIR = path.join(ROOT, '.run', 'screenshots');

export interface ConsoleBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far, minus the ones the test declared expected. */
  errors(): string[];
  /** Runs `fn` while console errors matching `pattern` are expected (a deliberate 401, say). */
  expecting<T>(pattern: RegExp, fn: () => Promise<T>): Promise<T>;
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * One headless Chromium for a suite; playwright gives it a fresh temporary profile (user-data-dir) each launch. Every console message of type error and every
 * uncaught page error is recorded: a test ends by asserting there were none it did not expect.
 */
export async function openConsoleBrowser(baseUrl: string): Promise<ConsoleBrowser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run infra/scripts/ensure-chromium.sh (apt-get install chromium)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await context.newPage();
  const errors: string[] = [];
  const expected: RegExp[] = [];
  const record = (text: string) => {
    if (!expected.some((p) => p.test(text))) errors.push(text);
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') record(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => record(`pageerror: ${err.message}`));
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser, context, page,
    errors: () => [...errors],
    async expecting(pattern, fn) {
      expected.push(pattern);
      try {
        return await fn();
      } finally {
        // Late console messages of the expected request still arrive after the response: let them in.
        await page.waitForTimeout(300);
        expected.splice(expected.indexOf(pattern), 1);
      }
    },
    async shot(name) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
    },
  };
}
