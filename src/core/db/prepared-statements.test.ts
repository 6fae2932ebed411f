// Named prepared statements: which texts are prepared, the bound per connection, and on a
// real PostgreSQL (DATABASE_URL_TEST) that statements are prepared once and still run
// after a migration adds a column.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { dropPostgresDatabase, postgresTestUrl, withAdmin } from '../../../test/helpers/database.ts';
import { openDatabase, type Database } from './database.ts';
import { mayPrepare, prepareStatementsOn, statementName } from './prepared-statements.ts';

describe('mayPrepare', () => {
  it('refuses a result whose columns are chosen by *', () => {
    for (const text of [
      'select * from "users" where "id" = $1',
      'SELECT DISTINCT * FROM users WHERE id = $1',
      'select "users".* from "users" where "id" = $1',
      'select u.* from users u where u.id = $1',
      'select "id", * from "users" where "id" = $1',
      'insert into "sessions" ("id") values ($1) returning *',
      'with x as (select 1) select\n*\nfrom "users" where "id" = $1',
      'select distinct on ("email_index") * from "users" where "id" = $1',
      'select all * from "users" where "id" = $1',
      'select /* every column */ * from "users" where "id" = $1',
      'insert into "files" ("user_id", "purpose") values ($1, $2) on conflict ("user_id") where "purpose" = $3 do update set "purpose" = excluded."purpose"',
    ]) {
      assert.equal(mayPrepare(text), false, text);
    }
  });

  it('accepts named columns, count(*) and multiplication', () => {
    for (const text of [
      'select "id", "email_index" from "users" where "email_index" in ($1)',
      'select count(*) as "n" from "passkeys" where "user_id" = $1',
      'select least($1::float8 * power(2::float8, $2::float8), $3::float8) as s',
      'update "login_failures" set "failures" = $1 where "subject" = $2',
      'insert into "t" ("a") values ($1) on conflict ("a") do update set "b" = $2 where "t"."c" is null',
      'insert into "t" ("a") values ($1) on conflict do nothing',
    ]) {
      assert.equal(mayPrepare(text), true, text);
    }
  });
});

describe('statementName', () => {
  it('gives one text one name, other texts other names, within PostgreSQL identifiers, and none to a text that may not be prepared', () => {
    const a = statementName('select "id" from "users" where "id" = $1');
    assert.equal(statementName('select "id" from "users" where "id" = $1'), a);
    assert.notEqual(statementName('select "id" from "users" where "id" = $2'), a);
    assert.match(a ?? '', /^gh_[A-Za-z0-9_-]{24}$/);
    assert.ok(Buffer.byteLength(a ?? '') <= 63);
    // A text that may not be prepared has no name, asked once or again.
    assert.equal(statementName('select * from "users" where "id" = $1'), null);
    assert.equal(statementName('select * from "users" where "id" = $1'), null);
  });
});

const baseUrl = postgresTestUrl();

describe('on PostgreSQL', { skip: baseUrl === null ? 'DATABASE_URL_TEST is not set' : false }, () => {
  const name = `gatehouse_prepared_${randomBytes(6).toString('hex')}`;
  let url = '';

  before(async () => {
    const base = baseUrl ?? '';
    await withAdmin(base, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
    const parsed = new URL(base);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    await withAdmin(url, async (client) => {
      await client.query('create table things (id int primary key, label text not null)');
      await client.query("insert into things select n, 'thing ' || n from generate_series(1, 10) n");
    });
  });

  after(async () => {
    if (baseUrl !== null) await dropPostgresDatabase(baseUrl, name);
  });

  async function preparedOn(client: { query: pg.ClientBase['query'] }): Promise<string[]> {
    const result = await client.query<{ statement: string }>('select statement from pg_prepared_statements order by statement');
    return result.rows.map((row) => row.statement);
  }

  it('prepares a statement once per connection and runs it with each call’s parameters', async () => {
    await withAdmin(url, async (client) => {
      prepareStatementsOn(client);
      const text = 'select label from things where id = $1';
      const labels: string[] = [];
      for (const id of [1, 2, 3]) labels.push((await client.query<{ label: string }>(text, [id])).rows[0]?.label ?? '');
      assert.deepEqual(labels, ['thing 1', 'thing 2', 'thing 3']);
      assert.deepEqual(await preparedOn(client), [text]);
      // A parameter is still a parameter: text meant as SQL is only a value.
      const byLabel = 'select id from things where label = $1';
      assert.deepEqual((await client.query(byLabel, ["thing 1' or '1'='1"])).rows, []);
      assert.deepEqual((await client.query(byLabel, ['thing 7'])).rows, [{ id: 7 }]);
    });
  });

  it('prepares at most the bound per connection, and the rest still run', async () => {
    await withAdmin(url, async (client) => {
      prepareStatementsOn(client, 3);
      const results: number[] = [];
      for (let n = 1; n <= 6; n++) {
        const row = (await client.query<{ id: number }>(`select id from things where id = $1 and ${n} = ${n}`, [n])).rows[0];
        results.push(row?.id ?? 0);
      }
      assert.deepEqual(results, [1, 2, 3, 4, 5, 6]);
      assert.equal((await preparedOn(client)).length, 3);
    });
  });

  it('after a parameter pg cannot encode, runs that text unnamed on the connection instead of failing for good', async () => {
    await withAdmin(url, async (client) => {
      prepareStatementsOn(client);
      const text = 'select $1::jsonb as v';
      await assert.rejects(client.query(text, [{ n: 1n }]), /BigInt/);
      assert.deepEqual((await client.query(text, [{ n: 1 }])).rows, [{ v: { n: 1 } }]);
      assert.deepEqual((await client.query(text, [{ n: 2 }])).rows, [{ v: { n: 2 } }]);
      // A refusal by the server (here a value of the wrong type) keeps the name.
      const typed = 'select $1::int as n';
      assert.deepEqual((await client.query(typed, [1])).rows, [{ n: 1 }]);
      await assert.rejects(client.query(typed, ['one']), (error: unknown) => error instanceof pg.DatabaseError);
      assert.deepEqual((await client.query(typed, [2])).rows, [{ n: 2 }]);
      assert.deepEqual(await preparedOn(client), [typed]);
    });
  });

  it('after a refusal by the server, sends the name again, not the text to parse', async () => {
    await withAdmin(url, async (client) => {
      // What reaches pg: the call the wrapper makes.
      const sent: unknown[] = [];
      const pgQuery = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
        sent.push(args[0]);
        return pgQuery(...args);
      };
      prepareStatementsOn(client);
      const text = 'select label from things where id = $1::int';
      await client.query(text, [1]);
      await assert.rejects(client.query(text, ['one']), (error: unknown) => error instanceof pg.DatabaseError);
      await client.query(text, [2]);
      const name = statementName(text);
      assert.ok(name !== null);
      assert.deepEqual(sent, [{ name, text, values: [1] }, { name, text, values: ['one'] }, { name, text, values: [2] }]);
    });
  });

  it('keeps the parameter types of its first parse: after a column changes type, a prepared statement compares as before', async () => {
    // Why docs/operations.md asks to stop older instances before a migration that changes
    // a column's type, and why migrations-column-types.test.ts refuses one: the prepared
    // statement gives no error, it answers by the old type.
    await withAdmin(url, async (client) => {
      await client.query('create table events (id int primary key, at timestamp not null)');
      await client.query("insert into events values (1, '2026-01-01 05:00:00')");
    });
    const text = 'select id from events where at = $1';
    const value = '2026-01-01 00:00:00-05:00';
    await withAdmin(url, async (wrapped) => {
      prepareStatementsOn(wrapped);
      // timestamp without time zone: the offset is dropped, 00:00 matches no row.
      assert.deepEqual((await wrapped.query(text, [value])).rows, []);
      await withAdmin(url, async (other) => {
        await other.query("set time zone 'UTC'");
        await other.query("alter table events alter column at type timestamptz using at at time zone 'UTC'");
      });
      await wrapped.query("set time zone 'UTC'");
      // Unnamed, the same text now finds the row (05:00 UTC is 00:00-05:00) ...
      assert.deepEqual((await wrapped.query({ text, values: [value] })).rows, [{ id: 1 }]);
      // ... while the statement this connection prepared still drops the offset.
      assert.deepEqual((await wrapped.query(text, [value])).rows, []);
    });
  });

  it('leaves statements without parameters and every other form of call to pg', async () => {
    await withAdmin(url, async (client) => {
      prepareStatementsOn(client);
      await client.query('select 1');
      await client.query('begin; select 2; commit');
      await client.query({ text: 'select label from things where id = $1', values: [1] });
      assert.deepEqual(await preparedOn(client), []);
    });
  });

  it('never prepares a * result, which would fail for good after a migration adds a column', async () => {
    await withAdmin(url, (client) => client.query('create table wide (id int primary key, a text)'));
    await withAdmin(url, (client) => client.query("insert into wide values (1, 'x')"));
    await withAdmin(url, async (plain) => {
      await withAdmin(url, async (wrapped) => {
        prepareStatementsOn(wrapped);
        const star = 'select * from wide where id = $1';
        const named = 'select a from wide where id = $1';
        await plain.query({ name: 'star', text: star, values: [1] });
        await wrapped.query(star, [1]);
        await wrapped.query(named, [1]);
        assert.deepEqual(await preparedOn(wrapped), [named]);
        await withAdmin(url, (client) => client.query('alter table wide add column b text'));
        // What the rule prevents: the same * statement, prepared, now fails on its connection.
        await assert.rejects(plain.query({ name: 'star', text: star, values: [1] }), /cached plan must not change result type/);
        assert.deepEqual((await wrapped.query<Record<string, unknown>>(star, [1])).rows, [{ id: 1, a: 'x', b: null }]);
        assert.deepEqual((await wrapped.query(named, [1])).rows, [{ a: 'x' }]);
      });
    });
  });

  it('never prepares an upsert on a partial unique index, which a generic plan cannot match', async () => {
    await withAdmin(url, async (client) => {
      await client.query('create table avatars (user_id int not null, purpose text not null, n int not null)');
      await client.query("create unique index avatars_one on avatars (user_id) where purpose = 'avatar'");
    });
    const text = 'insert into avatars (user_id, purpose, n) values ($1, $2, 1) on conflict (user_id) where purpose = $3 do update set n = avatars.n + 1';
    await withAdmin(url, async (plain) => {
      // What the rule prevents: prepared, it fails once PostgreSQL switches to the generic plan.
      let failedAt = 0;
      for (let run = 1; run <= 8 && failedAt === 0; run++) {
        await plain.query({ name: 'upsert', text, values: [1, 'avatar', 'avatar'] }).catch((error: unknown) => {
          assert.match(String(error), /no unique or exclusion constraint matching the ON CONFLICT specification/);
          failedAt = run;
        });
      }
      assert.ok(failedAt > 1, `the named upsert failed from run ${failedAt}`);
    });
    await withAdmin(url, async (wrapped) => {
      prepareStatementsOn(wrapped);
      for (let run = 1; run <= 8; run++) await wrapped.query(text, [2, 'avatar', 'avatar']);
      assert.deepEqual((await wrapped.query('select n from avatars where user_id = $1', [2])).rows, [{ n: 8 }]);
    });
  });

  for (const preparedStatements of [true, false]) {
    it(`openDatabase prepares Kysely's statements ${preparedStatements ? 'by default' : 'not at all with preparedStatements: false'}`, async () => {
      let database: Database | null = null;
      try {
        database = await openDatabase({ engine: 'postgres', url, poolMax: 1, ...(preparedStatements ? {} : { preparedStatements }) });
        const { db } = database;
        // The schema type does not know this scratch table; a raw Kysely statement will do.
        const select = sql<{ label: string }>`select label from things where id = ${4}`;
        assert.deepEqual((await select.execute(db)).rows, [{ label: 'thing 4' }]);
        assert.deepEqual((await select.execute(db)).rows, [{ label: 'thing 4' }]);
        const names = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db);
        assert.deepEqual(names.rows.map((row) => row.statement), preparedStatements ? ['select label from things where id = $1'] : []);
      } finally {
        await database?.close();
      }
    });
  }
});
