import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from './database.ts';
import { postgresTestUrl, testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { insideTransaction } from './transaction-scope.ts';

// A hang is the failure these tests look for: each bounds its wait and names it.
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: still waiting after ${ms} ms`)); }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function scratchTable(database: Database): Promise<void> {
  await sql`create table if not exists scope_probe (id int primary key, label text not null)`.execute(database.db);
  await sql`delete from scope_probe`.execute(database.db);
}

async function labels(runner: Database['db']): Promise<string[]> {
  const result = await sql<{ label: string }>`select label from scope_probe order by id`.execute(runner);
  return result.rows.map((row) => row.label);
}

function suite(name: string, open: () => Promise<TestDatabase>): void {
  describe(`transaction scope on ${name}`, { timeout: 60_000 }, () => {
    let test: TestDatabase;
    let database: Database;
    before(async () => {
      test = await open();
      database = test.database;
    });
    after(async () => {
      await test.cleanup();
    });

    it('a query through db inside a transaction runs in it instead of waiting for the held connection', async () => {
      await scratchTable(database);
      const seen = await within(5_000, 'query outside its transaction', database.db.transaction().execute(async (trx) => {
        await sql`insert into scope_probe values (1, 'uncommitted')`.execute(trx);
        assert.equal(insideTransaction(), true);
        // The mistake this guards against: `db` where `trx` was meant.
        return labels(database.db);
      }));
      assert.deepEqual(seen, ['uncommitted']);
      assert.equal(insideTransaction(), false);
    });

    it('many requests making that mistake at once all finish (no request waits on itself)', async () => {
      await scratchTable(database);
      const requests = Array.from({ length: 24 }, (_, index) =>
        database.db.transaction().execute(async (trx) => {
          await sql`insert into scope_probe values (${index}, ${`r${index}`})`.execute(trx);
          const mine = await sql<{ n: number }>`select count(*)::int as n from scope_probe where id = ${index}`.execute(database.db);
          return mine.rows[0]?.n;
        }),
      );
      assert.deepEqual(await within(15_000, '24 concurrent transactions', Promise.all(requests)), Array(24).fill(1));
    });

    it('a nested transaction is a savepoint: rolling it back keeps the outer writes', async () => {
      await scratchTable(database);
      await within(5_000, 'nested transaction', database.db.transaction().execute(async (trx) => {
        await sql`insert into scope_probe values (1, 'outer')`.execute(trx);
        await assert.rejects(
          database.db.transaction().execute(async (inner) => {
            await sql`insert into scope_probe values (2, 'inner')`.execute(inner);
            throw new Error('inner fails');
          }),
          /inner fails/,
        );
        await database.db.transaction().execute(async (inner) => {
          await sql`insert into scope_probe values (3, 'kept')`.execute(inner);
        });
      }));
      assert.deepEqual(await labels(database.db), ['outer', 'kept']);
    });

    it('a rolled-back transaction takes the queries it lent the connection to with it', async () => {
      await scratchTable(database);
      await assert.rejects(
        within(5_000, 'rollback', database.db.transaction().execute(async (trx) => {
          await sql`insert into scope_probe values (1, 'a')`.execute(trx);
          await sql`insert into scope_probe values (2, 'b')`.execute(database.db);
          throw new Error('abort');
        })),
        /abort/,
      );
      assert.deepEqual(await labels(database.db), []);
    });

    it('other contexts do not see the open transaction, and work it spawned uses a connection of its own after commit', async () => {
      await scratchTable(database);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let spawned: Promise<string[]> | undefined;
      const transaction = database.db.transaction().execute(async (trx) => {
        await sql`insert into scope_probe values (1, 'pending')`.execute(trx);
        spawned = gate.then(() => labels(database.db));
        await gate;
      });
      // Outside the scope: the uncommitted row is invisible, or the read waits its turn
      // for the only connection (PGlite, a pool of one); either way it never sees it.
      let committed = false;
      const outside = labels(database.db).then((seen) => ({ seen, afterCommit: committed }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      await within(5_000, 'transaction', transaction);
      committed = true;
      const read = await within(5_000, 'outside read', outside);
      if (!read.afterCommit) assert.deepEqual(read.seen, [], 'a read outside the scope saw an uncommitted row');
      assert.deepEqual(await within(5_000, 'spawned read', spawned!), ['pending']);
      assert.deepEqual(await labels(database.db), ['pending']);
    });
  });
}

for (const engine of testEngines()) suite(engine.engine, () => engine.open());

const postgres = postgresTestUrl();
if (postgres !== null) {
  // A pool of one is PGlite's situation on PostgreSQL: the held connection is the only one.
  suite('postgres with a pool of one', async () => {
    const wide = await testEngines().find((engine) => engine.engine === 'postgres')!.open();
    const narrow = await openDatabase({ engine: 'postgres', url: wide.url!, poolMax: 1 });
    return {
      database: narrow,
      url: wide.url,
      async cleanup() {
        await narrow.close();
        await wide.cleanup();
      },
    };
  });
}
