// `npm run bench:web`: how fast the web app's login page becomes usable on loopback.
//
//   npm run bench:web -- [--loads 20] [--screenshot FILE]
//
// Starts the server as `npm start` does (PGlite in a temporary DATA_DIR, development mode,
// the built app) and opens /login in Debian's Chromium (headless) `--loads` times, each in
// a fresh browser context (empty cache: a first visit), then as many times again in one
// context (a warm cache: a return visit). For each load it reads, in the page:
// - the navigation timing: response end, DOMContentLoaded, load;
// - "interactive": the first animation frame in which the login form's submit button is
//   rendered by React (the app's one script has run and the form takes input).
// Prints the median and the 90th percentile of each, in milliseconds from navigation start.
// --screenshot saves the login page as a desktop browser shows it (the README's picture).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BrowserContext } from 'playwright-core';
import { SERVER_NODE_FLAGS } from '../src/process-tuning.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { freePort, serverEnv, stopServer, waitReady } from './lib/serve.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

interface Load {
  readonly responseEnd: number;
  readonly domContentLoaded: number;
  readonly load: number;
  readonly interactive: number;
}

/** What the measuring function uses of the page's globals (this project has no DOM library). */
interface PageGlobals {
  readonly document: { querySelector(selector: string): unknown };
  readonly performance: { now(): number; getEntriesByType(type: 'navigation'): { responseEnd: number; domContentLoadedEventEnd: number; loadEventEnd: number }[] };
  requestAnimationFrame(callback: () => void): void;
}

async function measureLoad(context: BrowserContext, url: string): Promise<Load> {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  const interactive = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const page = globalThis as unknown as PageGlobals;
        const check = (): void => {
          if (page.document.querySelector('form button[type="submit"]') !== null) resolve(page.performance.now());
          else page.requestAnimationFrame(check);
        };
        check();
      }),
  );
  await page.waitForLoadState('load');
  const timing = await page.evaluate(() => {
    const [entry] = (globalThis as unknown as PageGlobals).performance.getEntriesByType('navigation');
    return { responseEnd: entry?.responseEnd ?? Number.NaN, domContentLoaded: entry?.domContentLoadedEventEnd ?? Number.NaN, load: entry?.loadEventEnd ?? Number.NaN };
  });
  await page.close();
  return { ...timing, interactive };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function row(label: string, loads: readonly Load[]): string {
  const cell = (pick: (load: Load) => number): string => `${percentile(loads.map(pick), 50).toFixed(0)} / ${percentile(loads.map(pick), 90).toFixed(0)}`;
  return `| ${label.padEnd(22)} | ${cell((load) => load.responseEnd).padEnd(12)} | ${cell((load) => load.domContentLoaded).padEnd(16)} | ${cell((load) => load.load).padEnd(9)} | ${cell((load) => load.interactive).padEnd(11)} |`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { loads: { type: 'string', default: '20' }, screenshot: { type: 'string' } } });
  const loads = Number(values.loads);
  if (!Number.isInteger(loads) || loads < 1 || loads > 200) throw new Error('--loads must be 1..200');
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-web-bench-'));
  const port = await freePort();
  // A host name, as in production (an IP address in PUBLIC_URL disables passkeys, with a warning).
  const origin = `http://localhost:${port}`;
  const server = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, 'serve'], { env: { ...serverEnv(dataDir, port), PUBLIC_URL: origin }, stdio: ['ignore', 'inherit', 'inherit'] });
  const browser = await launchChromium();
  try {
    await waitReady(server, port);
    const cold: Load[] = [];
    for (let n = 0; n < loads; n += 1) {
      const context = await browser.newContext();
      cold.push(await measureLoad(context, `${origin}/login`));
      await context.close();
    }
    const context = await browser.newContext();
    await measureLoad(context, `${origin}/login`);
    const warm: Load[] = [];
    for (let n = 0; n < loads; n += 1) warm.push(await measureLoad(context, `${origin}/login`));
    await context.close();
    if (values.screenshot !== undefined) {
      const desktop = await browser.newPage({ viewport: { width: 1000, height: 620 } });
      await desktop.goto(`${origin}/login`);
      await desktop.getByRole('button', { name: 'Log in', exact: true }).waitFor();
      await desktop.screenshot({ path: values.screenshot });
      await desktop.close();
    }
    console.log(`\n/login on loopback, headless Chromium, ${loads} loads each; median / p90 in ms from navigation start\n`);
    console.log('| load                   | response end | DOMContentLoaded | load      | interactive |');
    console.log('| ---------------------- | ------------ | ---------------- | --------- | ----------- |');
    console.log(row('first visit (no cache)', cold));
    console.log(row('return visit (cached)', warm));
  } finally {
    await browser.close();
    await stopServer(server);
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
