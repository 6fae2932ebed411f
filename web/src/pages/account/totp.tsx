// The authenticator app (TOTP): set it up (a QR code and the key as text, then a code from
// the app to turn it on), or remove it. Each of these is a step-up action.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { SubmitButton, TotpCodeField, useAction } from '../../components/form.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { AccountProblem, ConfirmedAction, DateTime } from './shared.tsx';
import type { MfaStatus, TotpEnrolment } from './types.ts';

/**
 * The server's SVG as an image source. An SVG shown through <img> is inert (no script, no
 * external fetch) and needs no HTML parsing of ours; the page's CSP allows `img-src data:`.
 */
function svgSource(svg: string): string {
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function TotpConfirm(props: { readonly enrolment: TotpEnrolment; readonly onEnabled: (codes: readonly string[] | null) => void; readonly onCancel: () => void }): ReactNode {
  const { enrolment } = props;
  const [code, setCode] = useState('');
  const action = useAction();
  const stepUp = useStepUp();
  return (
    <div className="totp-setup">
      <p>Scan this QR code with your authenticator app:</p>
      <img className="qr" src={svgSource(enrolment.qr_svg)} alt="QR code to add Gatehouse to your authenticator app" width={200} height={200} />
      <p>
        Or type this setup key into the app: <code className="secret">{enrolment.secret}</code>
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const body = { code: code.replaceAll(/\s/g, '') };
          void action.run(() => stepUp(() => settle(api.POST('/v1/me/mfa/totp/confirm', { body })))).then((answer) => {
            if (answer !== null) props.onEnabled(answer.recovery_codes);
          });
        }}
      >
        <AccountProblem problem={action.problem} />
        <TotpCodeField label="Code from the app" hint="The six digits the app shows for Gatehouse." value={code} onValue={setCode} problem={action.problem} />
        <div className="button-row">
          <SubmitButton busy={action.busy} busyText="Checking…">
            Turn on
          </SubmitButton>
          <button type="button" className="button-secondary" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

export function TotpSection(props: { readonly status: MfaStatus; readonly onChanged: (codes: readonly string[] | null) => void }): ReactNode {
  const { status, onChanged } = props;
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const action = useAction();
  const stepUp = useStepUp();
  if (status.totp !== null) {
    return (
      <>
        <p>
          On since <DateTime value={status.totp.confirmed_at} />. Sign-ins ask for a code from the app.
        </p>
        <ConfirmedAction
          label="Remove the authenticator app"
          question="Remove the authenticator app? Sign-ins will no longer ask for its codes."
          confirmLabel="Remove it"
          call={() => settle(api.DELETE('/v1/me/mfa/totp'))}
          onDone={() => {
            onChanged(null);
          }}
        />
      </>
    );
  }
  if (enrolment !== null) {
    return (
      <TotpConfirm
        enrolment={enrolment}
        onEnabled={(codes) => {
          setEnrolment(null);
          onChanged(codes);
        }}
        onCancel={() => {
          setEnrolment(null);
        }}
      />
    );
  }
  return (
    <>
      <p>An app on your phone (such as a password manager or an authenticator app) makes a new six-digit code every 30 seconds.</p>
      <AccountProblem problem={action.problem} />
      <button
        type="button"
        className="button-primary"
        disabled={action.busy}
        onClick={() => {
          void action.run(() => stepUp(() => settle(api.POST('/v1/me/mfa/totp')))).then((answer) => {
            if (answer !== null) setEnrolment(answer);
          });
        }}
      >
        {action.busy ? 'Starting…' : 'Set up an authenticator app'}
      </button>
    </>
  );
}
