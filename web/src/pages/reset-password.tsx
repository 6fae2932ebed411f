// The reset link from the mail lands here with `#token=…`: a fragment never reaches a
// server's logs or a Referer header. The token is taken from the address bar at once.
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import { Field, PASSWORD_HINT, ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { PageHeading } from '../components/layout.tsx';
import { Link, takeFragmentParameter } from '../router.tsx';

export function ResetPasswordPage(): ReactNode {
  const [linkCode] = useState(() => takeFragmentParameter('token'));
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction();

  if (linkCode === null) {
    return (
      <section className="card">
        <PageHeading>Reset link incomplete</PageHeading>
        <p>This page needs the link from the password reset message. Open the link from the mail again, or ask for a new one.</p>
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </section>
    );
  }
  if (done) {
    return (
      <section className="card">
        <PageHeading>Password changed</PageHeading>
        <p>Your new password is set, and every session that was signed in has been ended.</p>
        <p>
          <Link to="/login">Log in</Link>
        </p>
      </section>
    );
  }
  return (
    <section className="card">
      <PageHeading>Choose a new password</PageHeading>
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
        <Field
          name="password"
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          maxLength={1024}
          value={password}
          onValue={setPassword}
          problem={action.problem}
          hint={PASSWORD_HINT}
        />
        <SubmitButton busy={action.busy} busyText="Saving…">
          Set the new password
        </SubmitButton>
      </form>
    </section>
  );
}
