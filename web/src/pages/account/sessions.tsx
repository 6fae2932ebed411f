// /account/sessions: every live session of the account, this one marked. Another one can be
// ended here (its refresh token stops working at once); this one ends with "Log out" on the
// overview. A device is known only by what its browser said (the user agent), shown as
// the text it is.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { Card } from '../../components/layout.tsx';
import { Link } from '../../router.tsx';
import { AccountProblem, ConfirmedAction, DateTime, Done, Loading } from './shared.tsx';
import type { AccountSession } from './types.ts';
import { useLoad } from './use-load.ts';

const AUTH_METHODS: Readonly<Record<string, string>> = {
  password: 'Password',
  'password+totp': 'Password and authenticator app',
  'password+recovery_code': 'Password and recovery code',
  'password+passkey': 'Password and passkey',
  passkey: 'Passkey',
};

/** This session first, then the most recently used. */
function ordered(sessions: readonly AccountSession[]): AccountSession[] {
  return [...sessions].sort((a, b) => Number(b.current) - Number(a.current) || b.last_used_at.localeCompare(a.last_used_at));
}

function SessionItem(props: { readonly session: AccountSession; readonly onEnded: () => void }): ReactNode {
  const { session } = props;
  return (
    <li className="item">
      <p className="item-title">
        <span className="user-agent">{session.user_agent ?? 'Unknown device'}</span>
        {session.current ? <span className="badge">This session</span> : null}
      </p>
      <dl className="details">
        <dt>Signed in</dt>
        <dd>
          <DateTime value={session.created_at} />
        </dd>
        <dt>Last active</dt>
        <dd>
          <DateTime value={session.last_used_at} />
        </dd>
        <dt>IP address</dt>
        <dd>{session.ip ?? 'Unknown'}</dd>
        <dt>Signed in with</dt>
        <dd>{AUTH_METHODS[session.auth_method] ?? session.auth_method}</dd>
      </dl>
      {session.current ? (
        <p className="hint">
          To end this session, <Link to="/account">log out</Link>.
        </p>
      ) : (
        <ConfirmedAction
          label="End this session"
          question="End this session? That device will have to sign in again."
          confirmLabel="End it"
          call={() => settle(api.DELETE('/v1/me/sessions/{id}', { params: { path: { id: session.id } } }))}
          onDone={props.onEnded}
        />
      )}
    </li>
  );
}

export function SessionsPage(): ReactNode {
  const loaded = useLoad(() => settle(api.GET('/v1/me/sessions')));
  const [ended, setEnded] = useState<string | null>(null);
  const { outcome } = loaded;
  const after = (message: string) => (): void => {
    setEnded(message);
    loaded.reload();
  };
  const sessions = outcome?.ok === true ? ordered(outcome.data) : null;
  const others = sessions?.filter((session) => !session.current).length ?? 0;
  return (
    <Card title="Your sessions" busy={outcome === null}>
      <p>Where your account is signed in. End any session you do not recognise, then change your password.</p>
      {ended === null ? null : <Done>{ended}</Done>}
      {outcome === null ? <Loading>Loading your sessions…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {sessions?.length === 0 ? <p>No session is signed in.</p> : null}
      {sessions === null || sessions.length === 0 ? null : (
        <ul className="item-list" aria-label="Sessions">
          {sessions.map((session) => (
            <SessionItem key={session.id} session={session} onEnded={after('The session was ended.')} />
          ))}
        </ul>
      )}
      {others > 1 ? (
        <ConfirmedAction
          label="End every other session"
          question={`End all ${others} other sessions?`}
          confirmLabel="End them"
          call={() => settle(api.DELETE('/v1/me/sessions'))}
          onDone={after('Every other session was ended.')}
        />
      ) : null}
    </Card>
  );
}
