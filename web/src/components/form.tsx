// Form pieces shared by every page: a labelled field that shows the server's messages for
// it, the problem banner, a submit button that says when it is busy, and the hook that
// runs a call while keeping everything the user typed.
import { useId, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import { describeProblem, fieldMessages } from '../api/messages.ts';
import type { Outcome, Problem } from '../api/problem.ts';

export interface Action {
  readonly busy: boolean;
  readonly problem: Problem | null;
  /** Runs the call unless one is running; the answer's data, or null after a problem (then shown). */
  run<T>(call: () => Promise<Outcome<T>>): Promise<T | null>;
  clear(): void;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  return {
    busy,
    problem,
    async run(call) {
      if (busy) return null;
      setBusy(true);
      setProblem(null);
      try {
        const outcome = await call();
        if (outcome.ok) return outcome.data;
        setProblem(outcome.problem);
        return null;
      } finally {
        setBusy(false);
      }
    },
    clear() {
      setProblem(null);
    },
  };
}

/** The server's policy decides (length, common and guessable passwords); this only advises. */
export const PASSWORD_HINT = 'Use a long password: a few unrelated words are strong and easy to remember.';

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange' | 'name' | 'style'>;

export function Field(
  props: InputProps & {
    readonly name: string;
    readonly label: string;
    readonly value: string;
    readonly onValue: (value: string) => void;
    readonly problem: Problem | null;
    readonly hint?: ReactNode;
  },
): ReactNode {
  const { name, label, value, onValue, problem, hint, ...input } = props;
  const id = useId();
  const messages = fieldMessages(problem).get(name) ?? [];
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint === undefined ? null : hintId, messages.length > 0 ? errorId : null].filter((part) => part !== null).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint === undefined ? null : (
        <div className="hint" id={hintId}>
          {hint}
        </div>
      )}
      <input
        {...input}
        id={id}
        name={name}
        value={value}
        aria-invalid={messages.length > 0}
        aria-describedby={describedBy === '' ? undefined : describedBy}
        onChange={(event) => {
          onValue(event.target.value);
        }}
      />
      {messages.length === 0 ? null : (
        <ul className="field-errors" id={errorId}>
          {messages.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface ValueProps {
  readonly value: string;
  readonly onValue: (value: string) => void;
  readonly problem: Problem | null;
}

/** The account's email address, as the API bounds it (254 characters). */
export function EmailField(props: ValueProps & { readonly autoComplete?: 'email' | 'username' }): ReactNode {
  return <Field name="email" label="Email" type="email" autoComplete={props.autoComplete ?? 'email'} required maxLength={254} {...props} />;
}

/** A new password (field `password`): the server's policy judges it and its reasons show under the field. */
export function NewPasswordField(props: ValueProps & { readonly label: string; readonly name?: string }): ReactNode {
  return <Field name="password" type="password" autoComplete="new-password" required maxLength={1024} hint={PASSWORD_HINT} {...props} />;
}

/** The password the account has now (field `password` unless named otherwise). */
export function CurrentPasswordField(props: ValueProps & { readonly label?: string; readonly name?: string }): ReactNode {
  const { label, name, ...rest } = props;
  return <Field name={name ?? 'password'} label={label ?? 'Password'} type="password" autoComplete="current-password" required maxLength={1024} {...rest} />;
}

/** A code from an authenticator app (field `code`), as the API bounds it. */
export function TotpCodeField(props: ValueProps & { readonly label?: string; readonly hint?: string }): ReactNode {
  const { label, hint, ...rest } = props;
  return (
    <Field
      name="code"
      label={label ?? 'Code from your authenticator app'}
      inputMode="numeric"
      autoComplete="one-time-code"
      required
      maxLength={16}
      {...(hint === undefined ? {} : { hint })}
      {...rest}
    />
  );
}

/** A recovery code (field `recovery_code`), as the API bounds it. */
export function RecoveryCodeField(props: ValueProps): ReactNode {
  return <Field name="recovery_code" label="Recovery code" autoComplete="off" spellCheck={false} required maxLength={64} hint="Each recovery code works once." {...props} />;
}

/** The problem as a banner: the message, the server's password advice, and a reference for support on a server error. */
export function ProblemAlert(props: {
  readonly problem: Problem | null;
  readonly children?: ReactNode;
  /** This form's own wording for some codes (`invalid_credentials` when only a password was asked for, say). */
  readonly messages?: Readonly<Partial<Record<string, string>>>;
}): ReactNode {
  const { problem } = props;
  if (problem === null) return null;
  return (
    <div className="alert alert-error" role="alert">
      <p>{props.messages?.[problem.code] ?? describeProblem(problem)}</p>
      {problem.suggestions.length === 0 ? null : (
        <ul className="suggestions">
          {problem.suggestions.map((suggestion) => (
            <li key={suggestion}>{suggestion}</li>
          ))}
        </ul>
      )}
      {props.children}
      {problem.status >= 500 && problem.requestId !== null ? <p className="reference">Reference: {problem.requestId}</p> : null}
    </div>
  );
}

export function SubmitButton(props: { readonly busy: boolean; readonly children: ReactNode; readonly busyText: string }): ReactNode {
  return (
    <button type="submit" className="button-primary" disabled={props.busy} aria-busy={props.busy}>
      {props.busy ? props.busyText : props.children}
    </button>
  );
}
