// The verification link from the mail lands here with `#token=…`. The page confirms the
// address at once (the link is the user's intent) and offers a new link when it failed.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import { EmailField, ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { Link, takeFragmentParameter } from '../router.tsx';

function ResendForm(): ReactNode {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction();
  if (sent) return <p role="status">If that address has an account waiting for confirmation, a new link is on its way.</p>;
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(() => settle(api.POST('/v1/auth/verify-email/resend', { body: { email: email.trim() } }))).then((answer) => {
          if (answer !== null) setSent(true);
        });
      }}
    >
      <ProblemAlert problem={action.problem} />
      <EmailField value={email} onValue={setEmail} problem={action.problem} />
      <SubmitButton busy={action.busy} busyText="Sending…">
        Send a new link
      </SubmitButton>
    </form>
  );
}

export function VerifyEmailPage(): ReactNode {
  const [linkCode] = useState(() => takeFragmentParameter('token'));
  const [verified, setVerified] = useState(false);
  const action = useAction();
  const started = useRef(false);

  useEffect(() => {
    // Once per link, even when React runs effects twice (StrictMode in development).
    if (linkCode === null || started.current) return;
    started.current = true;
    void action.run(() => settle(api.POST('/v1/auth/verify-email', { body: { token: linkCode } }))).then((answer) => {
      if (answer !== null) setVerified(true);
    });
  }, [linkCode, action]);

  if (verified) {
    return (
      <Card title="Email confirmed">
        <p>Your address is confirmed. You can log in now.</p>
        <p>
          <Link to="/login" className="button-link">
            Log in
          </Link>
        </p>
      </Card>
    );
  }
  if (linkCode !== null && action.problem === null) {
    return (
      <Card title="Confirming your email…" busy>
        <p role="status">One moment.</p>
      </Card>
    );
  }
  return (
    <Card title={linkCode === null ? 'Confirmation link incomplete' : 'Could not confirm your email'}>
      {linkCode === null ? <p>This page needs the link from the confirmation message. Open the link from the mail again, or ask for a new one.</p> : null}
      <ProblemAlert problem={action.problem} />
      <h2>Send a new link</h2>
      <ResendForm />
    </Card>
  );
}
