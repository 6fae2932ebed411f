// The audit trail for people, over real HTTP on PGlite and PostgreSQL: query with
// filters and pages, NDJSON export verified offline, chain verification, and a user's
// own security events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { startEngineApp, type EngineApp } from '../../../test/helpers/engine-app.ts';
import { asTriggerBypassingSuperuser } from '../../core/audit/audit.fixtures.ts';
import { verifyExport } from '../../core/audit/export-format.ts';
import { pruneAuditTrail } from '../../core/audit/prune.ts';
import { auditDepsOf, ndjsonLines, signedInAs, signIn, type SignedIn } from './audit-trail.fixtures.ts';
import { encodeCursor } from './cursor.ts';

interface Event {
  seq: number;
  action: string;
  actor_id: string | null;
  target_id: string | null;
  outcome: string;
  hash: string;
  prev_hash: string;
}
interface Page {
  events: Event[];
  next_cursor: string | null;
}

for (const engine of testEngines()) {
  describe(`audit trail queries on ${engine.engine}`, () => {
    let app: EngineApp;
    let auditor: SignedIn;
    let alice: SignedIn;
    const list = async (query: string): Promise<Page> => {
      const response = await app.client.request<Page>('GET', `/v1/admin/audit${query}`, { token: auditor.token });
      assert.equal(response.status, 200, response.text);
      return response.json();
    };
    before(async () => {
      app = await startEngineApp(engine);
      auditor = await signedInAs(app, ['auditor']);
      alice = await signedInAs(app, ['user']);
      const wrong = await app.client.request('POST', '/v1/auth/login', { body: { email: alice.email, password: 'not her password at all' } });
      assert.equal(wrong.status, 401);
    });
    after(() => app.close());

    it('filters by action, actor, target and outcome, with every chain field', async () => {
      const logins = await list(`?action=auth.login_succeeded&actor=${alice.id}`);
      assert.deepEqual(logins.events.map((event) => [event.action, event.target_id]), [['auth.login_succeeded', alice.sessionId]]);
      assert.match(logins.events[0]?.hash ?? '', /^[0-9a-f]{64}$/);
      assert.match(logins.events[0]?.prev_hash ?? '', /^[0-9a-f]{64}$/);
      const failures = await list(`?target=${alice.id}&outcome=failure`);
      assert.deepEqual(failures.events.map((event) => event.action), ['auth.login_failed']);
    });

    it('filters by time range (from inclusive, to exclusive)', async () => {
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const past = new Date(Date.now() - 3_600_000).toISOString();
      assert.equal((await list(`?from=${future}`)).events.length, 0);
      assert.equal((await list(`?to=${past}`)).events.length, 0);
      assert.ok((await list(`?from=${past}&to=${future}`)).events.length >= 4);
    });

    it('pages newest first with an opaque cursor, without overlap or gaps', async () => {
      const all = (await list('?limit=200')).events.map((event) => event.seq);
      assert.deepEqual(all, [...all].sort((a, b) => b - a));
      const walked: number[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = await list(`?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
        assert.ok(page.events.length <= 2);
        walked.push(...page.events.map((event) => event.seq));
        cursor = page.next_cursor;
      } while (cursor !== null);
      assert.deepEqual(walked, all);
    });

    it('refuses unknown, malformed and out-of-range query parameters', async () => {
      for (const query of ['?limit=0', '?limit=201', '?outcome=maybe', '?action=x%20y', '?from=yesterday', '?sort=asc', `?action=${'a'.repeat(65)}`, '?cursor=!!', `?cursor=${encodeCursor(1).replace(/=*$/, '')}x`, `?cursor=${Buffer.from('007').toString('base64url')}`]) {
        const response = await app.client.request('GET', `/v1/admin/audit${query}`, { token: auditor.token });
        assert.equal(response.status, 400, query);
        assert.equal(response.json()['code'], 'invalid_request', query);
      }
    });

    it("shows a user their own sign-ins and changes, with the address only where they acted", async () => {
      const changed = await app.client.request('POST', '/v1/me/password', {
        token: alice.token,
        body: { current_password: alice.password, new_password: `${alice.password} again` },
      });
      assert.equal(changed.status, 204, changed.text);
      const again = await signIn(app, alice.email, `${alice.password} again`);
      const response = await app.client.request<{ events: Record<string, unknown>[] }>('GET', '/v1/me/events', { token: again.token });
      assert.equal(response.status, 200, response.text);
      const events = response.json().events;
      assert.deepEqual(events.map((event) => event['action']), ['auth.login_succeeded', 'password.changed', 'auth.login_failed', 'auth.login_succeeded', 'user.created']);
      const [latest, , failed, , created] = events;
      assert.deepEqual([latest?.['initiated_by'], latest?.['session_id'], latest?.['ip']], ['you', again.sessionId, '127.0.0.1']);
      assert.deepEqual([failed?.['initiated_by'], failed?.['ip'], failed?.['user_agent']], ['unauthenticated', null, null]);
      assert.deepEqual([created?.['initiated_by'], created?.['ip']], ['system', null]);
    });
  });

  describe(`audit export, verification and pruning on ${engine.engine}`, () => {
    let app: EngineApp;
    let auditor: SignedIn;
    const exportText = async (query = ''): Promise<string> => {
      const response = await app.client.request('GET', `/v1/admin/audit/export${query}`, { token: auditor.token });
      assert.equal(response.status, 200, response.text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/x-ndjson/);
      return response.text;
    };
    before(async () => {
      app = await startEngineApp(engine);
      auditor = await signedInAs(app, ['auditor']);
      for (let n = 0; n < 3; n += 1) await signedInAs(app, ['user']);
    });
    after(() => app.close());

    it('an export verifies offline, and an altered or cut copy does not', async () => {
      const text = await exportText();
      const stored = await app.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      const result = await verifyExport(ndjsonLines(text), app.services.auditKeys);
      assert.deepEqual([result.ok, result.anchoring, result.checked], [true, 'genesis', Number(stored.n)]);
      const lines = ndjsonLines(text);
      const third = JSON.parse(lines[3] ?? '{}') as Record<string, unknown>;
      const altered = lines.with(3, JSON.stringify({ ...third, outcome: 'failure' }));
      assert.deepEqual([(await verifyExport(altered, app.services.auditKeys)).firstBrokenSeq], [third['seq']]);
      const cut = lines.filter((line) => line !== '').slice(0, -2);
      assert.equal((await verifyExport(cut, app.services.auditKeys)).reason, 'truncated');
    });

    it('verify reports an intact chain', async () => {
      const response = await app.client.request('GET', '/v1/admin/audit/verify', { token: auditor.token });
      assert.equal(response.status, 200);
      const body = response.json();
      assert.deepEqual([body['ok'], body['first_broken_seq']], [true, null]);
      assert.ok(Number(body['checked']) > 5);
    });

    it('after a prune, the export is anchored by the signed checkpoint and still verifies', async () => {
      const fifth = await app.database.db.selectFrom('audit_events').select('occurred_at').where('seq', '=', 5).executeTakeFirstOrThrow();
      const pruned = await pruneAuditTrail(app.database.db, await auditDepsOf(app), { before: new Date(fifth.occurred_at) });
      assert.equal(pruned.kind, 'pruned');
      const whole = await verifyExport(ndjsonLines(await exportText()), app.services.auditKeys);
      assert.deepEqual([whole.ok, whole.anchoring, whole.anchor?.seq], [true, 'checkpoint', 4]);
      // A copy whose header claims a different checkpoint, or none, no longer verifies.
      const lines = ndjsonLines(await exportText());
      const header = JSON.parse(lines[0] ?? '{}') as { anchor: { seq: number; hash: string }; checkpoint: Record<string, unknown> };
      const moved = { ...header, anchor: { ...header.anchor, seq: 3 }, checkpoint: { ...header.checkpoint, through_seq: 3 } };
      assert.equal((await verifyExport(lines.with(0, JSON.stringify(moved)), app.services.auditKeys)).reason, 'checkpoint_invalid');
      const genesis = { ...header, anchor: { seq: 0, hash: '0'.repeat(64) }, checkpoint: null };
      assert.equal((await verifyExport(lines.with(0, JSON.stringify(genesis)), app.services.auditKeys)).firstBrokenSeq, 1);
      const partial = await verifyExport(ndjsonLines(await exportText('?from_seq=8')), app.services.auditKeys);
      assert.deepEqual([partial.ok, partial.anchoring, partial.anchor?.seq], [true, 'unanchored', 7]);
      const verified = await app.client.request('GET', '/v1/admin/audit/verify', { token: auditor.token });
      assert.equal(verified.json()['ok'], true);
    });

    it('a row altered with superuser SQL is found by verify at its sequence number, and the failure is recorded', async () => {
      await asTriggerBypassingSuperuser(app.database, async (trx) => {
        await trx.updateTable('audit_events').set({ outcome: 'failure' }).where('seq', '=', 7).execute();
      });
      const response = await app.client.request('GET', '/v1/admin/audit/verify', { token: auditor.token });
      assert.equal(response.status, 200);
      assert.deepEqual(response.json(), { ok: false, checked: 2, first_broken_seq: 7, reason: 'hash_mismatch' });
      const recorded = await app.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'audit.verify_failed').executeTakeFirstOrThrow();
      assert.deepEqual([recorded.actor_id, recorded.details['first_broken_seq']], [auditor.id, 7]);
    });
  });
}
