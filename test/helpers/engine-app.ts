// Starts a listening app on a fresh database of the given engine (PGlite or PostgreSQL).
import type { TestEngine } from './database.ts';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import { httpClient, type Client } from './http.ts';

export interface EngineApp extends TestApp {
  readonly client: Client;
}

export async function startEngineApp(engine: TestEngine, options: TestAppOptions = {}): Promise<EngineApp> {
  const test = await engine.open();
  // Functional suites make many requests from one address; limit tests set their own.
  const env = { AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000', RATE_LIMIT_MAX: '100000', ...options.env };
  const app = await startTestApp({ ...options, env, database: test.database, listen: true });
  return {
    ...app,
    client: httpClient(app.baseURL),
    async close() {
      await app.close();
      await test.cleanup();
    },
  };
}
