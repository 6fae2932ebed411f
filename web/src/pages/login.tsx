// Log in: the password first; for an account with a second factor the server answers
// `mfa_required` with a short-lived `mfa_token` and the methods it accepts, and the second
// step sends one proof (a TOTP code, a recovery code or a passkey) to POST /v1/auth/mfa.
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle, type Outcome } from '../api/problem.ts';
import type { MfaChallenge, SignedIn } from '../api/types.ts';
import { CurrentPasswordField, EmailField, ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { Link, navigate } from '../router.tsx';
import { session } from '../session.ts';
import { PasskeyLogin } from './passkey-login.tsx';
import { SecondFactorStep } from './second-factor.tsx';

function finish(answer: SignedIn): void {
  session.begin(answer);
  navigate('/account');
}

export function LoginPage(): ReactNode {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const action = useAction();

  if (challenge !== null) {
    return (
      <SecondFactorStep
        challenge={challenge}
        onSignedIn={finish}
        onRestart={(outcome: Outcome<never>) => {
          // The mfa_token expired or ran out of attempts: back to the password, with the reason.
          setChallenge(null);
          void action.run(() => Promise.resolve(outcome));
        }}
      />
    );
  }

  return (
    <Card title="Log in">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => settle(api.POST('/v1/auth/login', { body: { email: email.trim(), password } }))).then((answer) => {
            if (answer === null) return;
            if ('mfa_required' in answer) setChallenge(answer);
            else finish(answer);
          });
        }}
      >
        <ProblemAlert problem={action.problem}>
          {action.problem?.code === 'email_not_verified' ? (
            <p>
              <Link to="/verify-email">Send a new confirmation link</Link>
            </p>
          ) : null}
        </ProblemAlert>
        <EmailField autoComplete="username" value={email} onValue={setEmail} problem={action.problem} />
        <CurrentPasswordField value={password} onValue={setPassword} problem={action.problem} />
        <SubmitButton busy={action.busy} busyText="Logging in…">
          Log in
        </SubmitButton>
      </form>
      <PasskeyLogin onSignedIn={finish} />
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to="/register">Create an account</Link>
      </p>
    </Card>
  );
}
