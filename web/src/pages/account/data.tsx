// /account/data: the account's data. Downloading everything held about it (GET
// /v1/me/export, a ZIP; a step-up action, a few a day) and deleting the account (DELETE
// /v1/me, a step-up action): the server schedules the erasure after its grace period,
// signs out every session (this one too) and mails a link that cancels it; with no grace
// period it erases the account at once.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle, type Outcome } from '../../api/problem.ts';
import { SubmitButton, useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { attachmentName, saveBlob } from '../../download.ts';
import { navigate } from '../../router.tsx';
import { session } from '../../session.ts';
import { goodbyePath } from '../account-deletion.tsx';
import { DeletionBanner } from './deletion-banner.tsx';
import { AccountProblem, ConfirmedAction, Done } from './shared.tsx';

interface Archive {
  readonly blob: Blob;
  readonly filename: string;
}

async function fetchExport(): Promise<Outcome<Archive>> {
  const pending = api.GET('/v1/me/export', { parseAs: 'blob' });
  const outcome = await settle(pending);
  if (!outcome.ok) return outcome;
  // Settled without a problem, so the call resolved: its response names the file.
  const { response } = await pending;
  return { ok: true, data: { blob: outcome.data, filename: attachmentName(response, 'gatehouse-export.zip') } };
}

/** DELETE /v1/me: when the account will be erased (202), or null when it was erased at once (204). */
async function requestDeletion(): Promise<Outcome<{ readonly dueAt: string | null }>> {
  const outcome = await settle(api.DELETE('/v1/me'));
  if (!outcome.ok) return outcome;
  return { ok: true, data: { dueAt: outcome.data?.due_at ?? null } };
}

function ExportSection(): ReactNode {
  const action = useAction();
  const stepUp = useStepUp();
  const [saved, setSaved] = useState(false);
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        void action.run(() => stepUp(fetchExport)).then((archive) => {
          if (archive === null) return;
          saveBlob(archive.blob, archive.filename);
          setSaved(true);
        });
      }}
    >
      <p>One ZIP file of everything this service holds about your account, in JSON that other services can read:</p>
      <ul>
        <li>
          <strong>profile.json</strong>: your email, name, status, roles, and when the account was created;
        </li>
        <li>
          <strong>second-factors.json</strong>: your authenticator app, recovery codes and passkeys, when each was added and last used;
        </li>
        <li>
          <strong>sessions.ndjson</strong>: where your account is or was recently signed in, with the address and browser;
        </li>
        <li>
          <strong>security-events.ndjson</strong>: what happened to your account (sign-ins, failed attempts, changes);
        </li>
        <li>
          <strong>README.txt</strong> and <strong>manifest.json</strong>: what each file holds.
        </li>
      </ul>
      <p>It never holds a secret: no password, no authenticator app key, no recovery code, no token. You can download it a few times a day.</p>
      <AccountProblem problem={action.problem} />
      {saved ? <Done>Your data was downloaded: look for the ZIP file among your downloads.</Done> : null}
      <SubmitButton busy={action.busy} busyText="Preparing your data…">
        Download your data
      </SubmitButton>
    </form>
  );
}

function DeleteSection(): ReactNode {
  return (
    <>
      <p>
        Your account will be erased after a grace period, with everything held about it. You will be signed out everywhere and we will mail you a link to cancel. Until then, logging in again
        and choosing to keep your account cancels it too.
      </p>
      <ConfirmedAction
        label="Delete your account"
        question="Delete your account? It will be erased after a grace period, and you will be signed out everywhere, here too."
        confirmLabel="Yes, delete my account"
        call={requestDeletion}
        onDone={(answer) => {
          // The server ended every session, this one included.
          navigate(goodbyePath(answer.dueAt), { replace: true });
          session.end();
        }}
      />
    </>
  );
}

export function DataPage(): ReactNode {
  return (
    <Card title="Your data">
      <DeletionBanner />
      <h2>Download your data</h2>
      <ExportSection />
      <h2>Delete your account</h2>
      <DeleteSection />
    </Card>
  );
}
