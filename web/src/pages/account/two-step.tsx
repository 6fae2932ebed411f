// /account/two-step: the second factors (an authenticator app, passkeys) and the recovery
// codes that come with them. An account whose role requires a second factor and has none
// lands here (mfa_enrollment_required): only these routes are open to it until it enrols.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { Card } from '../../components/layout.tsx';
import { PasskeysSection } from './passkeys.tsx';
import { RecoveryCodes } from './recovery-codes.tsx';
import { AccountProblem, ConfirmedAction, Loading } from './shared.tsx';
import { TotpSection } from './totp.tsx';
import type { MfaStatus } from './types.ts';
import { useLoad } from './use-load.ts';

function RecoveryCodesSection(props: { readonly status: MfaStatus; readonly onNewCodes: (codes: readonly string[] | null) => void }): ReactNode {
  const remaining = props.status.recovery_codes_remaining;
  return (
    <>
      <p>
        {remaining === 1 ? 'You have 1 unused recovery code.' : `You have ${remaining} unused recovery codes.`} Each one signs you in once when you cannot use
        your second factor.
      </p>
      <ConfirmedAction
        label="Make new recovery codes"
        question="Make new recovery codes? The ones you have now stop working."
        confirmLabel="Make new codes"
        call={() => settle(api.POST('/v1/me/mfa/recovery-codes'))}
        onDone={(answer) => {
          props.onNewCodes(answer.recovery_codes);
        }}
      />
    </>
  );
}

export function TwoStepPage(): ReactNode {
  const status = useLoad(() => settle(api.GET('/v1/me/mfa')));
  const [codes, setCodes] = useState<readonly string[] | null>(null);
  const changed = (fresh: readonly string[] | null): void => {
    if (fresh !== null) setCodes(fresh);
    status.reload();
  };
  const { outcome } = status;
  const current = outcome?.ok === true ? outcome.data : null;
  const enrolled = current !== null && (current.totp !== null || current.passkeys > 0);
  return (
    <Card title="Two-step sign-in" busy={outcome === null}>
      {codes === null ? null : (
        <RecoveryCodes
          codes={codes}
          onDismiss={() => {
            setCodes(null);
          }}
        />
      )}
      <p>A second step after your password keeps your account safe even if someone learns the password.</p>
      {outcome === null ? <Loading>Loading your second factors…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {current?.required === true && !enrolled ? (
        <div className="alert alert-info">
          <p>Your role requires a second factor. Set up an authenticator app or a passkey to use the rest of your account.</p>
        </div>
      ) : null}
      {current === null ? null : (
        <>
          <h2>Authenticator app</h2>
          <TotpSection status={current} onChanged={changed} />
          <h2>Passkeys</h2>
          <PasskeysSection onChanged={changed} />
          {enrolled ? (
            <>
              <h2>Recovery codes</h2>
              <RecoveryCodesSection status={current} onNewCodes={changed} />
            </>
          ) : null}
        </>
      )}
    </Card>
  );
}
