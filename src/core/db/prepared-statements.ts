// Named prepared statements on PostgreSQL. Kysely hands pg a statement's text and its
// parameters, and pg sends them as an unnamed statement, which PostgreSQL parses, analyses
// and plans again on every execution. Given a name, pg parses a statement once per
// connection and afterwards sends only its parameters; PostgreSQL keeps the parse tree and
// reuses (or replans) the plan. Measured with `npm run bench` on PostgreSQL, one run each
// in one sitting: its CPU per login 3,074 → 1,839 µs (ten statements), per refresh 490 →
// 415 µs (one statement and a commit). The text sent is the same, so parameters stay
// parameters: this changes only how often PostgreSQL parses it.
//
// Bounds and exceptions:
// - A connection prepares at most `maxPerConnection` statements; beyond that, statements
//   go unnamed as before. Each prepared statement holds a parse tree (and a cached plan)
//   in its PostgreSQL backend until the connection closes, and texts that vary with the
//   length of a list (`in ($1, $2, …)`) must not grow that without end.
// - A statement whose result columns are chosen by `*` (`select *`, `"t".*`, `returning *`)
//   is never prepared: after a migration adds a column, PostgreSQL refuses to run such a
//   prepared statement again ("cached plan must not change result type") on every
//   connection that prepared it, for as long as the connection lives.
// - An upsert whose ON CONFLICT target has a WHERE (a partial unique index) is never
//   prepared either (CONFLICT_TARGET_PREDICATE below).
// - Statements without parameters (`begin`, `commit`, migration scripts) keep pg's simple
//   protocol, which needs no preparing and may hold several statements.
// - PostgreSQL's plan_cache_mode stays `auto`: after five executions a statement may run
//   on a generic plan, planned once for any parameters. Forcing a plan per execution
//   (`force_custom_plan`) was measured and gave most of the gain back (PostgreSQL per
//   refresh 367 and 408 µs with `auto`, 509 and 595 µs forced, two runs each).
// - DATABASE_PREPARED_STATEMENTS=false turns it off, for a connection pooler that does not
//   carry named statements across its server connections (PgBouncer before 1.21, or in
//   transaction mode without max_prepared_statements).
import { hash } from 'node:crypto';
import pg from 'pg';

export const MAX_PREPARED_PER_CONNECTION = 200;
// Statement texts come from the code; this only bounds the memory of remembering names.
const MAX_REMEMBERED_NAMES = 2_000;

// `select *`, `select distinct *`, `select all *`, `select distinct on (…) *`,
// `select /* … */ *`, `, *`, `returning *`, `"t".*` or `t.*`: a result whose columns a later
// migration could change. `count(*)` is not one (its result is one number). A `*` after `)`
// may also be a multiplication, which is then not prepared either: only slower, never wrong.
const RESULT_STAR = /(?:\bselect|\bdistinct|\ball|\breturning|,|\.|\)|\*\/)\s*\*/i;

// `on conflict (…) where … do`: a conflict target that names a partial unique index by
// its predicate. Kysely sends the predicate's values as parameters, and once PostgreSQL
// switches a prepared statement to its generic plan (from the sixth execution, when that
// plan looks no dearer), it can no longer match the index to a predicate whose value it
// does not know: "there is no unique or exclusion constraint matching the ON CONFLICT
// specification". Such a statement is planned for each execution, unnamed.
const CONFLICT_TARGET_PREDICATE = /\bon\s+conflict\b(?:(?!\bdo\b)[^;])*\bwhere\b/i;

/**
 * Whether a statement's text may be prepared: its result columns are named, not `*`, and
 * it has no predicate in an ON CONFLICT target.
 */
export function mayPrepare(text: string): boolean {
  return !RESULT_STAR.test(text) && !CONFLICT_TARGET_PREDICATE.test(text);
}

// The answer for each text, remembered: the name, or null for a text that may not be
// prepared. Every query asks, so the checks above run once per text, not per query.
const names = new Map<string, string | null>();

/**
 * The statement's name on every connection (from its text, so one text has one name), or
 * null when the text may not be prepared (mayPrepare).
 */
export function statementName(text: string): string | null {
  const known = names.get(text);
  if (known !== undefined) return known;
  // 24 characters of base64url (144 bits): within PostgreSQL's 63-byte identifiers.
  const name = mayPrepare(text) ? `gh_${hash('sha256', text, 'base64url').slice(0, 24)}` : null;
  if (names.size >= MAX_REMEMBERED_NAMES) names.clear();
  names.set(text, name);
  return name;
}

/**
 * Makes `client.query(text, values)` with parameters use a named statement, within the
 * bounds above. Every other form of call (a config object, a callback, no parameters)
 * goes to pg unchanged.
 *
 * A parameter pg cannot encode (a BigInt inside a JSON value, say) fails in pg before the
 * statement runs, and pg then closes the named statement on the server while still
 * counting it as parsed on this connection: every later use of that name would fail with
 * `prepared statement "gh_…" does not exist`. So after any failure that is not the
 * server's answer (pg.DatabaseError), that text goes unnamed on this connection: the one
 * request fails, as it would unnamed, and the next ones run.
 */
export function prepareStatementsOn(client: pg.ClientBase, maxPerConnection: number = MAX_PREPARED_PER_CONNECTION): void {
  const original = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const prepared = new Set<string>();
  const unnamed = new Set<string>();
  const query = (...args: unknown[]): unknown => {
    const [text, values] = args;
    if (args.length !== 2 || typeof text !== 'string' || !Array.isArray(values) || values.length === 0) return original(...args);
    const name = statementName(text);
    if (name === null || unnamed.has(name)) return original(...args);
    if (!prepared.has(name)) {
      if (prepared.size >= maxPerConnection) return original(...args);
      prepared.add(name);
    }
    return original({ name, text, values }).catch((error: unknown) => {
      if (!(error instanceof pg.DatabaseError)) unnamed.add(name);
      throw error;
    });
  };
  (client as unknown as { query: typeof query }).query = query;
}
