import type { Config } from '../config/config.ts';
import { openCommandDatabase } from '../runtime.ts';
import { isCurrent, migrate, migrationStatus } from '../core/db/migrate.ts';

export async function migrateCommand(config: Config, options: { statusOnly: boolean }): Promise<number> {
  const database = await openCommandDatabase(config);
  try {
    if (options.statusOnly) {
      const status = await migrationStatus(database);
      process.stdout.write(`${JSON.stringify(status)}\n`);
      return isCurrent(status) ? 0 : 1;
    }
    const applied = await migrate(database);
    process.stdout.write(applied.length === 0 ? 'migrations: up to date\n' : `migrations: applied ${applied.join(', ')}\n`);
    return 0;
  } finally {
    await database.close();
  }
}
