// Ask for a password reset link. The answer is the same for every address (no enumeration).
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import { EmailField, ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { Link } from '../router.tsx';

export function ForgotPasswordPage(): ReactNode {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const action = useAction();

  if (sentTo !== null) {
    return (
      <Card title="Check your inbox">
        <p>
          If an account uses <strong>{sentTo}</strong>, a message with a link to choose a new password is on its way. The link works
          once and for a limited time.
        </p>
        <p>
          <Link to="/login">Back to log in</Link>
        </p>
      </Card>
    );
  }

  return (
    <Card title="Reset your password">
      <p>Enter the email address of your account and we will send you a link to choose a new password.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const body = { email: email.trim() };
          void action.run(() => settle(api.POST('/v1/auth/password/forgot', { body }))).then((answer) => {
            if (answer !== null) setSentTo(body.email);
          });
        }}
      >
        <ProblemAlert problem={action.problem} />
        <EmailField value={email} onValue={setEmail} problem={action.problem} />
        <SubmitButton busy={action.busy} busyText="Sending…">
          Send the link
        </SubmitButton>
      </form>
      <p>
        <Link to="/login">Back to log in</Link>
      </p>
    </Card>
  );
}
