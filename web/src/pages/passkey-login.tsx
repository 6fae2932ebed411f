// Passwordless login: the browser offers the account's discoverable passkey (no email
// typed), and POST /v1/auth/passkey answers like a completed login, in cookie mode as
// every request of this app asks. A passkey verifies the user itself, so no second step.
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import type { SignedIn } from '../api/types.ts';
import { ProblemAlert, useAction } from '../components/form.tsx';
import { canUsePasskeys, getPasskeyAssertion } from '../webauthn.ts';

export function PasskeyLogin(props: { readonly onSignedIn: (answer: SignedIn) => void }): ReactNode {
  const action = useAction();
  const [waiting, setWaiting] = useState(false);
  const [cancelled, setCancelled] = useState(false);
  if (!canUsePasskeys()) return null;

  const logIn = async (): Promise<void> => {
    const options = await action.run(() => settle(api.POST('/v1/auth/passkey/options')));
    if (options === null) return;
    const assertion = await getPasskeyAssertion(options).catch(() => null);
    if (assertion === null) {
      setCancelled(true);
      return;
    }
    const answer = await action.run(() => settle(api.POST('/v1/auth/passkey', { body: { response: assertion } })));
    if (answer !== null) props.onSignedIn(answer);
  };

  return (
    <div className="alternatives">
      <p>Or, without a password:</p>
      <ProblemAlert problem={action.problem} />
      {cancelled ? <p role="status">No passkey was used. Try again, or log in with your password.</p> : null}
      <button
        type="button"
        className="button-secondary"
        disabled={waiting}
        aria-busy={waiting}
        onClick={() => {
          setCancelled(false);
          setWaiting(true);
          void logIn().finally(() => {
            setWaiting(false);
          });
        }}
      >
        {waiting ? 'Waiting for your passkey…' : 'Log in with a passkey'}
      </button>
    </div>
  );
}
