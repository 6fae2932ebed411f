// /account/events: the account's security events, newest first, a page at a time (the API
// pages with a cursor). What happened and who set it off are described in words; the
// address and user agent, present only for what the user did themself, are shown as text.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle, type Outcome } from '../../api/problem.ts';
import { useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { AccountProblem, DateTime, Loading } from './shared.tsx';
import type { EventPage, SecurityEvent } from './types.ts';
import { useLoad } from './use-load.ts';

const PAGE_SIZE = 20;

const ACTIONS: Readonly<Record<string, string>> = {
  'auth.login_succeeded': 'Signed in',
  'auth.login_failed': 'Sign-in failed',
  'auth.locked': 'Sign-in locked after failed attempts',
  'auth.unlocked': 'Sign-in unlocked',
  'auth.mfa_challenged': 'Second step of a sign-in asked for',
  'auth.mfa_failed': 'Second step of a sign-in failed',
  'auth.mfa_locked': 'Second step locked after failed attempts',
  'auth.reauthenticated': 'Confirmed it was you',
  'session.revoked': 'Session ended',
  'session.upgraded': 'Session confirmed with a second factor',
  'token.reuse_detected': 'A used sign-in token was presented again; the session was ended',
  'password.changed': 'Password changed',
  'password.reset_requested': 'Password reset asked for',
  'password.reset_completed': 'Password reset',
  'role.assigned': 'Role given',
  'role.removed': 'Role taken away',
  'user.created': 'Account created',
  'user.invited': 'Invited',
  'user.registered': 'Registered',
  'user.email_verified': 'Email address confirmed',
  'user.updated': 'Profile changed',
  'user.exported': 'Your data was exported',
  'user.disabled': 'Account disabled',
  'user.enabled': 'Account enabled',
  'mfa.totp_enrolment_started': 'Authenticator app setup started',
  'mfa.totp_enabled': 'Authenticator app turned on',
  'mfa.totp_removed': 'Authenticator app removed',
  'mfa.recovery_codes_regenerated': 'New recovery codes made',
  'mfa.recovery_code_used': 'Recovery code used',
  'mfa.reset_by_admin': 'Second factors removed by an administrator',
  'passkey.registered': 'Passkey added',
  'passkey.renamed': 'Passkey renamed',
  'passkey.removed': 'Passkey removed',
  'passkey.counter_regression': 'A passkey reported an out-of-date counter (possibly cloned)',
};

const INITIATED_BY: Readonly<Record<SecurityEvent['initiated_by'], string>> = {
  you: 'You',
  another_account: 'Another account (an administrator)',
  system: 'Gatehouse itself',
  unauthenticated: 'Someone not signed in',
};

const OUTCOMES: Readonly<Record<SecurityEvent['outcome'], string>> = { success: 'Succeeded', failure: 'Failed', denied: 'Refused' };

function EventItem(props: { readonly event: SecurityEvent }): ReactNode {
  const { event } = props;
  return (
    <li className="item">
      <p className="item-title">
        <span>{ACTIONS[event.action] ?? event.action}</span>
        {event.outcome === 'success' ? null : <span className="badge badge-warning">{OUTCOMES[event.outcome]}</span>}
      </p>
      <dl className="details">
        <dt>When</dt>
        <dd>
          <DateTime value={event.occurred_at} />
        </dd>
        <dt>By</dt>
        <dd>{INITIATED_BY[event.initiated_by]}</dd>
        {event.ip === null ? null : (
          <>
            <dt>IP address</dt>
            <dd>{event.ip}</dd>
          </>
        )}
        {event.user_agent === null ? null : (
          <>
            <dt>Device</dt>
            <dd className="user-agent">{event.user_agent}</dd>
          </>
        )}
      </dl>
    </li>
  );
}

function fetchPage(cursor?: string): Promise<Outcome<EventPage>> {
  return settle(api.GET('/v1/me/events', { params: { query: { limit: PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) } } }));
}

export function EventsPage(): ReactNode {
  const first = useLoad(() => fetchPage());
  const [older, setOlder] = useState<EventPage[]>([]);
  const more = useAction();
  const { outcome } = first;
  const pages = outcome?.ok === true ? [outcome.data, ...older] : [];
  const events = pages.flatMap((page) => page.events);
  const cursor = pages.at(-1)?.next_cursor ?? null;
  return (
    <Card title="Security events" busy={outcome === null}>
      <p>Sign-ins and changes to your account's security, newest first. If you see something you did not do, change your password.</p>
      {outcome === null ? <Loading>Loading your security events…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {outcome?.ok === true && events.length === 0 ? <p>No security events yet.</p> : null}
      {events.length === 0 ? null : (
        <ul className="item-list" aria-label="Security events">
          {events.map((event) => (
            <EventItem key={event.id} event={event} />
          ))}
        </ul>
      )}
      <AccountProblem problem={more.problem} />
      {cursor === null ? null : (
        <button
          type="button"
          className="button-secondary"
          disabled={more.busy}
          onClick={() => {
            void more.run(() => fetchPage(cursor)).then((page) => {
              if (page !== null) setOlder((previous) => [...previous, page]);
            });
          }}
        >
          {more.busy ? 'Loading…' : 'Show older events'}
        </button>
      )}
    </Card>
  );
}
