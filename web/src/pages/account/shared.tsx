// Pieces the account pages share: a problem banner that points to the way out (enrol a
// second factor, log in again), a loading line, a success line, dates, and a button that
// asks before doing something that cannot be undone.
import type { ReactNode } from 'react';
import type { Outcome, Problem } from '../../api/problem.ts';
import { ConfirmButton } from '../../components/confirm-button.tsx';
import { ProblemAlert, useAction } from '../../components/form.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { Link } from '../../router.tsx';

export function AccountProblem(props: { readonly problem: Problem | null; readonly messages?: Readonly<Partial<Record<string, string>>> }): ReactNode {
  const code = props.problem?.code;
  return (
    <ProblemAlert problem={props.problem} {...(props.messages === undefined ? {} : { messages: props.messages })}>
      {code === 'mfa_enrollment_required' ? (
        <p>
          <Link to="/account/two-step">Set up a second factor</Link>
        </p>
      ) : null}
      {code === 'unauthorized' || code === 'invalid_token' ? (
        <p>
          <Link to="/login">Log in again</Link>
        </p>
      ) : null}
    </ProblemAlert>
  );
}

export function Loading(props: { readonly children: string }): ReactNode {
  return (
    <p role="status" className="loading">
      {props.children}
    </p>
  );
}

/** A line that says a change was made (announced by screen readers). */
export function Done(props: { readonly children: ReactNode }): ReactNode {
  return (
    <p role="status" className="notice">
      {props.children}
    </p>
  );
}

export { DateTime } from '../../components/date-time.tsx';

/**
 * An action behind a ConfirmButton: asked once more, then sent (through the step-up
 * dialog when the route wants a recent sign-in), its problem shown above the button.
 */
export function ConfirmedAction<T>(props: {
  readonly label: string;
  readonly question: string;
  readonly confirmLabel: string;
  readonly call: () => Promise<Outcome<T>>;
  readonly onDone: (data: T) => void;
}): ReactNode {
  const action = useAction();
  const stepUp = useStepUp();
  return (
    <>
      <AccountProblem problem={action.problem} />
      <ConfirmButton
        label={props.label}
        question={props.question}
        confirmLabel={props.confirmLabel}
        busy={action.busy}
        onConfirm={() => {
          void action.run(() => stepUp(props.call)).then((answer) => {
            if (answer !== null) props.onDone(answer);
          });
        }}
      />
    </>
  );
}
