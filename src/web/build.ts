// Builds the browser app (web/) into static files with Vite's JS API. `gatehouse serve`
// calls ensureWebBuild before listening: .npmrc sets ignore-scripts, so `npm install &&
// npm start` never runs a prepare or prestart script, and this is the one place those two
// commands reliably reach. Vite and React are devDependencies: an install with
// --omit=dev has no build tools, and then the server serves the API alone.
import { randomBytes } from 'node:crypto';
import { access, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InlineConfig, Logger as ViteLogger } from 'vite';
import type { Logger } from '../core/logging.ts';
import { hashWebSources, readBuildStamp, STAMP_FILE, webDist } from './source-hash.ts';

/** The part of Vite's API used here; imported only when a build is due. */
export interface ViteAPI {
  build(config: InlineConfig): Promise<unknown>;
}

export interface WebBuildOptions {
  /** The app's folder (web/); its build goes to dist/ inside it. */
  readonly root: string;
  readonly log: Logger;
  /** Loads Vite (a devDependency, absent after `npm install --omit=dev`); tests replace it. */
  readonly loadVite?: () => Promise<ViteAPI>;
}

const importVite = (): Promise<ViteAPI> => import('vite');

export type WebBuildOutcome =
  | { readonly status: 'fresh' | 'built'; readonly dist: string }
  /** No build tools or no sources: the API is served alone (or a stale build, if one exists). */
  | { readonly status: 'unavailable' | 'failed'; readonly dist: string | null };

/** Vite's messages as log lines: `gatehouse serve` writes JSON lines only. */
function viteLogger(log: Logger): ViteLogger {
  const warned = new Set<string>();
  const logger: ViteLogger = {
    hasWarned: false,
    info: (message) => {
      log.debug({ vite: message }, 'web build');
    },
    warn: (message) => {
      logger.hasWarned = true;
      log.warn({ vite: message }, 'web build warning');
    },
    warnOnce: (message) => {
      if (warned.has(message)) return;
      warned.add(message);
      logger.warn(message);
    },
    error: (message) => {
      log.error({ vite: message }, 'web build error');
    },
    clearScreen: () => undefined,
    hasErrorLogged: () => false,
  };
  return logger;
}

/** The whole build configuration (there is no vite.config file). Changing it? Raise BUILD_OPTIONS_VERSION. */
export function viteConfig(root: string, outDir: string, log: Logger): InlineConfig {
  return {
    root,
    configFile: false,
    envDir: false,
    publicDir: false,
    base: '/',
    clearScreen: false,
    // 'info' would let the native (rolldown) progress reporter print plain lines on stdout.
    logLevel: 'warn',
    customLogger: viteLogger(log),
    oxc: { jsx: { runtime: 'automatic' } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // The polyfill is an inline <script>, which `script-src 'self'` refuses; every
      // browser the app supports has native modulepreload.
      modulePreload: { polyfill: false },
      // Nothing inlined as data: URIs into scripts or styles; assets stay files under 'self'.
      assetsInlineLimit: 0,
      sourcemap: false,
      reportCompressedSize: false,
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function isMissingModule(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ERR_MODULE_NOT_FOUND';
}

/**
 * Builds into a fresh folder beside dist and then swaps it in, so a server already serving
 * the old build (or a second process building at the same moment) never sees half a build.
 */
export async function buildWebApp(options: WebBuildOptions & { readonly fingerprint: string }): Promise<void> {
  const { root, log, fingerprint } = options;
  const vite = await (options.loadVite ?? importVite)();
  const staging = join(root, `.dist-${randomBytes(6).toString('hex')}`);
  const retired = `${staging}-old`;
  const dist = webDist(root);
  try {
    await vite.build(viteConfig(root, staging, log));
    await writeFile(join(staging, STAMP_FILE), `${fingerprint}\n`);
    await rename(dist, retired).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
    // Another process may have swapped its (identical) build in meanwhile: keep that one.
    await rename(staging, dist).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(retired, { recursive: true, force: true });
  }
}

/** Builds web/ when dist is missing or was built from other sources; says what it found and did. */
export async function ensureWebBuild(options: WebBuildOptions): Promise<WebBuildOutcome> {
  const { root, log } = options;
  const dist = webDist(root);
  const hasBuild = await exists(join(dist, 'index.html'));
  const fingerprint = await hashWebSources(root);
  if (fingerprint === null) {
    if (!hasBuild) log.warn({ root }, 'web app sources and build not found: serving the API only');
    return hasBuild ? { status: 'fresh', dist } : { status: 'unavailable', dist: null };
  }
  if (hasBuild && (await readBuildStamp(dist)) === fingerprint) return { status: 'fresh', dist };
  const started = performance.now();
  log.info({ root, reason: hasBuild ? 'sources changed' : 'no build' }, 'building the web app');
  try {
    await buildWebApp({ ...options, fingerprint });
  } catch (error) {
    const fallback = hasBuild ? dist : null;
    if (isMissingModule(error)) {
      log.warn({ err: error }, `web app build tools not installed (npm install without --omit=dev brings them): ${hasBuild ? 'serving the previous build' : 'serving the API only'}`);
      return { status: 'unavailable', dist: fallback };
    }
    log.error({ err: error }, `web app build failed: ${hasBuild ? 'serving the previous build' : 'serving the API only'}`);
    return { status: 'failed', dist: fallback };
  }
  log.info({ ms: Math.round(performance.now() - started) }, 'web app built');
  return { status: 'built', dist };
}
