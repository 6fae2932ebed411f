// /account/password: the current password and a new one (POST /v1/me/password, a step-up
// action). The server's policy judges the new one; its reasons show under the field and
// its advice in the banner, and everything typed stays for the next try.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { CurrentPasswordField, NewPasswordField, SubmitButton, useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { AccountProblem, Done } from './shared.tsx';

const MESSAGES = { invalid_credentials: 'Your current password is not correct.' };

export function PasswordPage(): ReactNode {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [changed, setChanged] = useState(false);
  const action = useAction();
  const stepUp = useStepUp();
  return (
    <Card title="Change your password">
      <p>Changing your password signs out every other session of your account.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setChanged(false);
          const body = { current_password: current, new_password: next };
          void action.run(() => stepUp(() => settle(api.POST('/v1/me/password', { body })))).then((answer) => {
            if (answer === null) return;
            setCurrent('');
            setNext('');
            setChanged(true);
          });
        }}
      >
        <AccountProblem problem={action.problem} messages={MESSAGES} />
        <CurrentPasswordField name="current_password" label="Current password" value={current} onValue={setCurrent} problem={action.problem} />
        <NewPasswordField name="new_password" label="New password" value={next} onValue={setNext} problem={action.problem} />
        {changed ? <Done>Your password was changed, and your other sessions were signed out.</Done> : null}
        <SubmitButton busy={action.busy} busyText="Changing…">
          Change the password
        </SubmitButton>
      </form>
    </Card>
  );
}
