// Starts a listening app on a fresh database of the given engine (PGlite or PostgreSQL).
import type { TestEngine } from './database.ts';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import { httpClient, type Client } from './http.ts';

export interface EngineApp extends TestApp {
  readonly client: Client;
}

export async function startEngineApp(engine: TestEngine, options: TestAppOptions = {}): Promise<EngineApp> {
  const test = await engine.open();
  const app = await startTestApp({ ...options, database: test.database, listen: true });
  return {
    ...app,
    client: httpClient(app.baseURL),
    async close() {
      await app.close();
      await test.cleanup();
    },
  };
}
