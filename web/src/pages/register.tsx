// Create an account. The server answers the same whether or not the address already has an
// account (no enumeration), so the page always ends on "check your inbox".
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import { EmailField, Field, NewPasswordField, ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { Link } from '../router.tsx';

export function RegisterPage(): ReactNode {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const action = useAction();

  if (sentTo !== null) {
    return (
      <Card title="Check your inbox">
        <p>
          If <strong>{sentTo}</strong> can receive mail, a message with a link to confirm it is on its way. Open the link to finish
          creating your account.
        </p>
        <p>
          Already confirmed? <Link to="/login">Log in</Link>
        </p>
      </Card>
    );
  }

  return (
    <Card title="Create your account">
      <form
        noValidate={false}
        onSubmit={(event) => {
          event.preventDefault();
          const body = { email: email.trim(), password, ...(name.trim() === '' ? {} : { name: name.trim() }) };
          void action.run(() => settle(api.POST('/v1/auth/register', { body }))).then((answer) => {
            if (answer !== null) setSentTo(body.email);
          });
        }}
      >
        <ProblemAlert problem={action.problem} />
        <EmailField value={email} onValue={setEmail} problem={action.problem} />
        <Field name="name" label="Name (optional)" autoComplete="name" maxLength={200} value={name} onValue={setName} problem={action.problem} />
        <NewPasswordField label="Password" value={password} onValue={setPassword} problem={action.problem} />
        <SubmitButton busy={action.busy} busyText="Creating your account…">
          Create account
        </SubmitButton>
      </form>
      <p>
        Have an account? <Link to="/login">Log in</Link>
      </p>
    </Card>
  );
}
