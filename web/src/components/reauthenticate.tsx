// "Confirm it is you": step-up routes (`x-step-up`: role changes, removing someone's second
// factors, ...) answer `reauthentication_required` when the session's sign-in is older
// than REAUTH_MAX_AGE (and admin routes answer `mfa_required` to a session that did not
// use the second factor). useStepUp wraps a call so either answer opens a dialog asking for the
// password (and the second factor, for an account that has one) through
// POST /v1/auth/reauthenticate, then runs the call again; cancelling keeps the refusal.
// The same interface (StepUp, useStepUp, StepUpProvider) as the account area's step-up
// dialog, so one of the two can replace the other.
import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import type { paths } from '../api/openapi.ts';
import { settle, type Outcome } from '../api/problem.ts';
import type { JSONBody, SecondFactorMethod } from '../api/types.ts';
import { canUsePasskeys, getPasskeyAssertion } from '../webauthn.ts';
import { Field, ProblemAlert, SubmitButton, useAction } from './form.tsx';

/** Runs `call`; when the server asks for a recent sign-in, asks the user to confirm it is them and runs it once more. */
export type StepUp = <T>(call: () => Promise<Outcome<T>>) => Promise<Outcome<T>>;

const StepUpContext = createContext<StepUp | null>(null);

const CONFIRMABLE: ReadonlySet<string> = new Set(['reauthentication_required', 'mfa_required']);

export function useStepUp(): StepUp {
  const stepUp = useContext(StepUpContext);
  if (stepUp === null) throw new Error('useStepUp() outside a <StepUpProvider>');
  return stepUp;
}

/** Gives its children useStepUp(), and shows the dialog while a call waits for the confirmation. */
export function StepUpProvider(props: { readonly children: ReactNode }): ReactNode {
  // Every call waiting for the confirmation (a page's parallel reads may all be refused): one dialog answers them all.
  const [waiting, setWaiting] = useState<readonly ((confirmed: boolean) => void)[]>([]);
  const stepUp = useCallback<StepUp>(async (call) => {
    const first = await call();
    // `mfa_required` (an admin route from a session that did not use the second factor) is
    // met the same way: a re-authentication with the second factor upgrades the session.
    if (first.ok || !CONFIRMABLE.has(first.problem.code)) return first;
    const confirmed = await new Promise<boolean>((resolve) => {
      setWaiting((others) => [...others, resolve]);
    });
    return confirmed ? call() : first;
  }, []);
  const done = (confirmed: boolean): void => {
    for (const resolve of waiting) resolve(confirmed);
    setWaiting([]);
  };
  return (
    <StepUpContext value={stepUp}>
      {props.children}
      {waiting.length === 0 ? null : <ReauthenticateDialog onDone={done} />}
    </StepUpContext>
  );
}

type Method = SecondFactorMethod | 'password_only';
type ReauthenticateBody = NonNullable<paths['/v1/auth/reauthenticate']['post']['requestBody']>['content']['application/json'];
type Confirmed = JSONBody<paths['/v1/auth/reauthenticate']['post']['responses'][200]>;

const OTHER_METHOD_LABELS: Record<SecondFactorMethod, string> = {
  totp: 'Use your authenticator app',
  recovery_code: 'Use a recovery code',
  passkey: 'Use a passkey instead',
};

/** The account's second factors, as GET /v1/me/mfa lists them; none when that cannot be read (the server then says what it needs). */
function useSecondFactors(): readonly SecondFactorMethod[] | null {
  const [methods, setMethods] = useState<readonly SecondFactorMethod[] | null>(null);
  useEffect(() => {
    let current = true;
    void settle(api.GET('/v1/me/mfa')).then((outcome) => {
      if (current) setMethods(outcome.ok ? outcome.data.methods.filter((method) => method !== 'passkey' || canUsePasskeys()) : []);
    });
    return () => {
      current = false;
    };
  }, []);
  return methods;
}

function firstMethod(methods: readonly SecondFactorMethod[]): Method {
  if (methods.includes('totp')) return 'totp';
  return methods[0] ?? 'password_only';
}

function ReauthenticateDialog(props: { readonly onDone: (confirmed: boolean) => void }): ReactNode {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const methods = useSecondFactors();
  const [chosen, setChosen] = useState<Method | null>(null);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [recoveryCode, setRecoveryCode] = useState('');
  const action = useAction();
  const method = chosen ?? (methods === null ? null : firstMethod(methods));

  useEffect(() => {
    // A modal dialog: focus moves into it, the page behind is inert, Escape cancels.
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
    return () => {
      element?.close();
    };
  }, []);

  const confirm = (body: ReauthenticateBody): void => {
    void action.run(() => settle(api.POST('/v1/auth/reauthenticate', { body }))).then((answer) => {
      if (answer !== null) props.onDone(true);
    });
  };

  const usePasskey = (): void => {
    void action
      .run(async (): Promise<Outcome<Confirmed | 'cancelled'>> => {
        const options = await settle(api.POST('/v1/auth/reauthenticate/passkey-options'));
        if (!options.ok) return options;
        const assertion = await getPasskeyAssertion(options.data);
        // Cancelled in the browser's own prompt: nothing to report, the dialog stays.
        if (assertion === null) return { ok: true, data: 'cancelled' };
        return settle(api.POST('/v1/auth/reauthenticate', { body: { passkey: assertion } }));
      })
      .then((answer) => {
        if (answer !== null && answer !== 'cancelled') props.onDone(true);
      });
  };

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        props.onDone(false);
      }}
    >
      <h2 id={titleId}>Confirm it is you</h2>
      {method === null ? (
        <p role="status">Loading…</p>
      ) : (
        <>
          <p>
            {method === 'passkey'
              ? 'For your safety, confirm with your passkey before doing this.'
              : `For your safety, enter your password again${method === 'password_only' ? '' : ' and your second factor'} before doing this.`}
          </p>
          <ProblemAlert problem={action.problem} />
          {method === 'passkey' ? (
            <p className="actions">
              <button type="button" className="button-primary" disabled={action.busy} aria-busy={action.busy} onClick={usePasskey}>
                {action.busy ? 'Checking…' : 'Use your passkey'}
              </button>
            </p>
          ) : (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                if (method === 'totp') confirm({ password, code: code.trim() });
                else if (method === 'recovery_code') confirm({ password, recovery_code: recoveryCode.trim() });
                else confirm({ password });
              }}
            >
              <Field name="password" label="Your password" type="password" autoComplete="current-password" required maxLength={1024} value={password} onValue={setPassword} problem={action.problem} />
              {method === 'totp' ? (
                <Field name="code" label="Code from your authenticator app" inputMode="numeric" autoComplete="one-time-code" required maxLength={16} value={code} onValue={setCode} problem={action.problem} />
              ) : null}
              {method === 'recovery_code' ? (
                <Field name="recovery_code" label="Recovery code" autoComplete="off" spellCheck={false} required maxLength={64} value={recoveryCode} onValue={setRecoveryCode} problem={action.problem} hint="Each recovery code works once." />
              ) : null}
              <SubmitButton busy={action.busy} busyText="Checking…">
                Confirm
              </SubmitButton>
            </form>
          )}
          {(methods ?? []).filter((other) => other !== method).length === 0 ? null : (
            <div className="alternatives">
              {(methods ?? [])
                .filter((other) => other !== method)
                .map((other) => (
                  <button
                    key={other}
                    type="button"
                    className="button-secondary"
                    disabled={action.busy}
                    onClick={() => {
                      action.clear();
                      setChosen(other);
                    }}
                  >
                    {OTHER_METHOD_LABELS[other]}
                  </button>
                ))}
            </div>
          )}
        </>
      )}
      <p className="dialog-footer">
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            props.onDone(false);
          }}
        >
          Cancel
        </button>
      </p>
    </dialog>
  );
}
