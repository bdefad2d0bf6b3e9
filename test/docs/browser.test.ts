import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/paths.js';
import { chromiumLaunch } from '../support/chromium.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { listOperations, listTagLabels, loadBundledSpec } from './spec.js';

const screenshotPath = join(projectRoot, 'test-results', 'docs.png');

/**
 * Opens `/docs` in Chromium (the headless shell of the npm package @sparticuz/chromium: no system
 * package needed, see test/support/chromium.ts) and checks the rendered Redoc page against the bundled spec:
 * every tag, operation summary and webhook shows up, nothing logs an error, nothing is fetched
 * from another host (the page must render offline).
 */
describe('GET /docs in a real browser', () => {
  const spec = loadBundledSpec();
  const operations = listOperations(spec);
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  const failedRequests: string[] = [];

  /** Starts the server and Chromium, with listeners recording errors and requests for other hosts. */
  async function openDocsBrowser(): Promise<{ page: Page; baseUrl: string }> {
    const started = await startTestServer();
    server = started;
    const launch = chromiumLaunch();
    browser = await chromium.launch({
      executablePath: launch.executablePath,
      args: [...launch.args, '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
      env: { ...process.env, ...launch.env } as Record<string, string>,
    });
    const origin = new URL(started.baseUrl).origin;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    // Offline, as far as the page can tell: anything for another host is recorded and refused.
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      foreignRequests.push(url);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    page.on('requestfailed', (request) => failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`));
    return { page, baseUrl: started.baseUrl };
  }

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('needs no system package: every shared library Chromium loads is glibc\'s, libgcc\'s or one it ships', () => {
    const launch = chromiumLaunch();
    const ldd = execFileSync('ldd', [launch.executablePath], { env: { ...process.env, ...launch.env }, encoding: 'utf8' });
    const libraries = ldd.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('linux-vdso'));
    expect(libraries.filter((line) => line.includes('not found'))).toEqual([]);
    const fromSystem = libraries
      .map((line) => /=>\s*(\S+)/.exec(line)?.[1] ?? line.split(/\s/)[0]!)
      .filter((file) => !file.startsWith(launch.env.LD_LIBRARY_PATH!))
      .map((file) => file.split('/').pop()!.replace(/\.so.*$/, ''));
    for (const name of fromSystem) expect(['libc', 'libm', 'libdl', 'libpthread', 'libgcc_s', 'librt', 'ld-linux-x86-64'], name).toContain(name);
  });

  it('renders every tag, every operation summary and every webhook, offline and without errors', async () => {
    const { page, baseUrl } = await openDocsBrowser();
    const response = await page.goto(`${baseUrl}/docs`, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    // The page is prerendered; wait until React has hydrated the sidebar before clicking in it.
    const menuItems = page.locator('[data-testid="menu-item-label"]');
    await menuItems.first().waitFor({ state: 'visible' });
    await page.waitForFunction(`(() => {
      const item = document.querySelector('[data-testid="menu-item-label"]');
      return item !== null && Object.keys(item).some((key) => key.startsWith('__reactFiber'));
    })()`);

    const tags = listTagLabels(spec);
    expect(tags.length).toBeGreaterThan(0);
    const missing: string[] = [];
    const seenText: string[] = [];
    for (const { name: tag, label } of tags) {
      // A tag and its x-tagGroup may share a name: the tag is the last sidebar entry with that label.
      const item = menuItems.filter({ has: page.getByText(label, { exact: true }) }).last();
      if ((await item.count()) === 0 || !(await item.isVisible())) {
        missing.push(`tag "${label}" is not in the sidebar (is it listed in an x-tagGroup?)`);
        continue;
      }
      await item.click();
      // Clicking a tag opens it in the sidebar and renders its section with all its operations.
      const expected = operations.filter((op) => op.tags.includes(tag)).flatMap((op) => [op.summary ?? op.name, ...(op.kind === 'webhook' ? [op.name] : [])]);
      const text = await waitForTexts(page, [label, ...expected]);
      seenText.push(text);
      for (const want of [label, ...expected]) if (!text.includes(want)) missing.push(`"${want}" (tag ${tag}) is not rendered`);
    }
    const allText = seenText.join('\n');
    for (const op of operations.filter((o) => o.tags.length === 0)) {
      if (!allText.includes(op.summary ?? op.name)) missing.push(`untagged ${op.label} ("${op.summary}") is not rendered`);
    }
    expect(missing).toEqual([]);
    expect(operations.filter((op) => op.kind === 'path').length).toBeGreaterThan(0);

    // The picture for humans: the overview and the first group's operations.
    await page.goto(`${baseUrl}/docs`, { waitUntil: 'networkidle' });
    const first = tags[0]!;
    await menuItems.filter({ has: page.getByText(first.label, { exact: true }) }).last().click();
    await waitForTexts(page, operations.filter((op) => op.tags.includes(first.name)).map((op) => op.summary ?? op.name));
    mkdirSync(join(projectRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });

    // No table is wider than the column it is in (a wide one is cut off behind a scroll bar), at the
    // common laptop and desktop widths.
    for (const width of [1280, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${baseUrl}/docs`, { waitUntil: 'networkidle' });
      const tooWide = (await page.evaluate(
        `[...document.querySelectorAll('table')].filter((t) => t.clientWidth > t.parentElement.clientWidth).map((t) => t.innerText.slice(0, 40))`,
      )) as string[];
      expect(tooWide, `tables wider than their column at ${width} px`).toEqual([]);
    }

    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
    expect(failedRequests).toEqual([]);
  }, 120_000);
});

/** The page's visible text once it shows all `texts` (or after 10 s, for the caller to report what is missing). */
async function waitForTexts(page: Page, texts: string[]): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await page.locator('body').innerText();
    if (texts.every((t) => text.includes(t)) || Date.now() > deadline) return text;
    await page.waitForTimeout(100);
  }
}
