// Step-up: a route marked `x-step-up` in the OpenAPI document (password change, adding or
// removing a second factor, new recovery codes, role changes, …) answers
// `reauthentication_required` when the session signed in longer ago than REAUTH_MAX_AGE,
// and an admin route answers `mfa_required` to a session that did not use the second
// factor. `useStepUp()` wraps such a call: on either answer it asks the user to confirm it
// is them (POST /v1/auth/reauthenticate, which with the second factor also upgrades the
// session), then sends the same call once more. The page's form is not touched
// meanwhile, so nothing typed is lost; cancelling leaves the first answer.
import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle, type Outcome } from '../api/problem.ts';
import { canUsePasskeys, getPasskeyAssertion } from '../webauthn.ts';
import { CurrentPasswordField, ProblemAlert, RecoveryCodeField, SubmitButton, TotpCodeField, useAction } from './form.tsx';

/** Runs `call`; after `reauthentication_required` and a confirmation, runs it once more. */
export type StepUp = <T>(call: () => Promise<Outcome<T>>) => Promise<Outcome<T>>;

const StepUpContext = createContext<StepUp | null>(null);

const CONFIRMABLE: ReadonlySet<string> = new Set(['reauthentication_required', 'mfa_required']);

export function useStepUp(): StepUp {
  const stepUp = useContext(StepUpContext);
  if (stepUp === null) throw new Error('useStepUp() outside a <StepUpProvider>');
  return stepUp;
}

export function StepUpProvider(props: { readonly children: ReactNode }): ReactNode {
  // Every call waiting for the confirmation: calls refused at about the same time share one dialog.
  const [waiting, setWaiting] = useState<readonly ((confirmed: boolean) => void)[]>([]);
  const stepUp = useCallback<StepUp>(async (call) => {
    const first = await call();
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
      {waiting.length === 0 ? null : <ConfirmDialog onDone={done} />}
    </StepUpContext>
  );
}

type SecondProof = 'code' | 'recovery_code';

/** Which second proof goes with the password: none without a second factor, a TOTP code when there is an app, else a recovery code. */
function secondProofOf(methods: readonly string[]): SecondProof | null {
  if (methods.includes('totp')) return 'code';
  if (methods.includes('recovery_code')) return 'recovery_code';
  return null;
}

const DIALOG_MESSAGES = { invalid_credentials: 'That password is not correct.' };

/** The modal "Confirm it is you": focus moves into it, Escape or Cancel closes it, the rest of the page is inert meanwhile. */
function ConfirmDialog(props: { readonly onDone: (confirmed: boolean) => void }): ReactNode {
  const { onDone } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [recoveryCode, setRecoveryCode] = useState('');
  const [methods, setMethods] = useState<readonly string[] | null>(null);
  const [proof, setProof] = useState<SecondProof | null>(null);
  const action = useAction();

  useEffect(() => {
    const element = dialog.current;
    if (element === null) return undefined;
    // showModal() moves focus to the first field and makes the page behind inert; close()
    // gives focus back to what had it.
    element.showModal();
    return () => {
      element.close();
    };
  }, []);

  useEffect(() => {
    let current = true;
    void settle(api.GET('/v1/me/mfa')).then((answer) => {
      if (!current) return;
      const known = answer.ok ? answer.data.methods : [];
      setMethods(known);
      setProof(secondProofOf(known));
    });
    return () => {
      current = false;
    };
  }, []);

  const confirm = (body: { password?: string; code?: string; recovery_code?: string; passkey?: Record<string, unknown> }): void => {
    void action.run(() => settle(api.POST('/v1/auth/reauthenticate', { body }))).then((answer) => {
      if (answer !== null) onDone(true);
    });
  };

  const usePasskey = async (): Promise<void> => {
    const options = await action.run(() => settle(api.POST('/v1/auth/reauthenticate/passkey-options')));
    if (options === null) return;
    const assertion = await getPasskeyAssertion(options);
    if (assertion !== null) confirm({ passkey: assertion });
  };

  const passkeys = methods?.includes('passkey') === true && canUsePasskeys();
  const other: SecondProof | null = proof === 'code' && methods?.includes('recovery_code') === true ? 'recovery_code' : proof === 'recovery_code' && methods?.includes('totp') === true ? 'code' : null;

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby={headingId}
      onCancel={(event) => {
        // Escape: closed by React (unmounting), so the state and the dialog agree.
        event.preventDefault();
        onDone(false);
      }}
    >
      <h2 id={headingId}>Confirm it is you</h2>
      <p>For your safety, this needs a recent sign-in. Confirm it is you to continue; what you entered on the page is kept.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          confirm({
            password,
            ...(proof === 'code' ? { code: code.trim() } : {}),
            ...(proof === 'recovery_code' ? { recovery_code: recoveryCode.trim() } : {}),
          });
        }}
      >
        <ProblemAlert problem={action.problem} messages={DIALOG_MESSAGES} />
        <CurrentPasswordField label="Your password" value={password} onValue={setPassword} problem={action.problem} />
        {proof === 'code' ? <TotpCodeField value={code} onValue={setCode} problem={action.problem} /> : null}
        {proof === 'recovery_code' ? <RecoveryCodeField value={recoveryCode} onValue={setRecoveryCode} problem={action.problem} /> : null}
        {other === null ? null : (
          <p>
            <button
              type="button"
              className="button-text"
              onClick={() => {
                action.clear();
                setProof(other);
              }}
            >
              {other === 'code' ? 'Use your authenticator app instead' : 'Use a recovery code instead'}
            </button>
          </p>
        )}
        <div className="dialog-actions">
          <SubmitButton busy={action.busy} busyText="Checking…">
            Confirm
          </SubmitButton>
          <button
            type="button"
            className="button-secondary"
            onClick={() => {
              onDone(false);
            }}
          >
            Cancel
          </button>
        </div>
      </form>
      {passkeys ? (
        <div className="alternatives">
          <p>Or, without your password:</p>
          <button type="button" className="button-secondary" disabled={action.busy} onClick={() => void usePasskey()}>
            Use a passkey
          </button>
        </div>
      ) : null}
    </dialog>
  );
}
