// The second step of a login: a code from the authenticator app, a recovery code, or a
// passkey, whichever the account has (the challenge's `methods`).
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle, type Outcome } from '../api/problem.ts';
import type { MfaChallenge, SecondFactorMethod, SignedIn } from '../api/types.ts';
import { ProblemAlert, RecoveryCodeField, SubmitButton, TotpCodeField, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { canUsePasskeys, getPasskeyAssertion } from '../webauthn.ts';

type Proof = { readonly code: string } | { readonly recovery_code: string } | { readonly passkey: Record<string, unknown> };

const METHOD_LABELS: Record<SecondFactorMethod, string> = {
  totp: 'Use your authenticator app',
  recovery_code: 'Use a recovery code',
  passkey: 'Use a passkey',
};

export function SecondFactorStep(props: {
  readonly challenge: MfaChallenge;
  readonly onSignedIn: (answer: SignedIn) => void;
  /** The challenge can no longer be used (expired, out of attempts): start again with the password. */
  readonly onRestart: (outcome: Outcome<never>) => void;
}): ReactNode {
  const { challenge } = props;
  const typed = challenge.methods.filter((method) => method !== 'passkey' || canUsePasskeys());
  const [method, setMethod] = useState<SecondFactorMethod>(typed.includes('totp') ? 'totp' : (typed[0] ?? 'recovery_code'));
  const [code, setCode] = useState('');
  const [recoveryCode, setRecoveryCode] = useState('');
  const action = useAction();

  const send = (proof: Proof): void => {
    void action
      .run(async () => {
        const outcome = await settle(api.POST('/v1/auth/mfa', { body: { mfa_token: challenge.mfa_token, ...proof } }));
        if (!outcome.ok && outcome.problem.code === 'invalid_token') props.onRestart(outcome);
        return outcome;
      })
      .then((answer) => {
        if (answer !== null) props.onSignedIn(answer);
      });
  };

  const usePasskey = async (): Promise<void> => {
    if (challenge.passkey_options === null) return;
    const assertion = await getPasskeyAssertion(challenge.passkey_options);
    if (assertion !== null) send({ passkey: assertion });
  };

  return (
    <Card title="Confirm it is you">
      <ProblemAlert problem={action.problem} />
      {method === 'totp' ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            send({ code: code.trim() });
          }}
        >
          <TotpCodeField value={code} onValue={setCode} problem={action.problem} />
          <SubmitButton busy={action.busy} busyText="Checking…">
            Continue
          </SubmitButton>
        </form>
      ) : null}
      {method === 'recovery_code' ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            send({ recovery_code: recoveryCode.trim() });
          }}
        >
          <RecoveryCodeField value={recoveryCode} onValue={setRecoveryCode} problem={action.problem} />
          <SubmitButton busy={action.busy} busyText="Checking…">
            Continue
          </SubmitButton>
        </form>
      ) : null}
      {method === 'passkey' ? (
        <button type="button" className="button-primary" disabled={action.busy} onClick={() => void usePasskey()}>
          {action.busy ? 'Checking…' : 'Use your passkey'}
        </button>
      ) : null}
      {typed.length > 1 ? (
        <div className="alternatives">
          <p>Other ways to confirm:</p>
          {typed
            .filter((other) => other !== method)
            .map((other) => (
              <button
                key={other}
                type="button"
                className="button-secondary"
                onClick={() => {
                  action.clear();
                  setMethod(other);
                }}
              >
                {METHOD_LABELS[other]}
              </button>
            ))}
        </div>
      ) : null}
    </Card>
  );
}
