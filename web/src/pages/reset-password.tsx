// The reset link from the mail lands here with `#token=…`: a fragment never reaches a
// server's logs or a Referer header. The token is taken from the address bar at once.
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import { NewPasswordField, ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { Link, takeFragmentParameter } from '../router.tsx';

export function ResetPasswordPage(): ReactNode {
  const [linkCode] = useState(() => takeFragmentParameter('token'));
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction();

  if (linkCode === null) {
    return (
      <Card title="Reset link incomplete">
        <p>This page needs the link from the password reset message. Open the link from the mail again, or ask for a new one.</p>
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </Card>
    );
  }
  if (done) {
    return (
      <Card title="Password changed">
        <p>Your new password is set, and every session that was signed in has been ended.</p>
        <p>
          <Link to="/login">Log in</Link>
        </p>
      </Card>
    );
  }
  return (
    <Card title="Choose a new password">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => settle(api.POST('/v1/auth/password/reset', { body: { token: linkCode, password } }))).then((answer) => {
            if (answer !== null) setDone(true);
          });
        }}
      >
        <ProblemAlert problem={action.problem}>
          {action.problem?.code === 'invalid_link' ? (
            <p>
              <Link to="/forgot-password">Ask for a new link</Link>
            </p>
          ) : null}
        </ProblemAlert>
        <NewPasswordField label="New password" value={password} onValue={setPassword} problem={action.problem} />
        <SubmitButton busy={action.busy} busyText="Saving…">
          Set the new password
        </SubmitButton>
      </form>
    </Card>
  );
}
