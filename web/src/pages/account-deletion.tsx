// The public pages of an account's deletion. /goodbye: where "Delete your account" ends,
// signed out (the server ended every session): when the erasure is due and how to cancel
// it, or that the account is gone. /cancel-deletion: the mailed link lands here with
// `#token=…`; the account is kept only when its owner presses the button, never on load
// (mail scanners open links).
import { useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { settle } from '../api/problem.ts';
import { DateTime } from '../components/date-time.tsx';
import { ProblemAlert, SubmitButton, useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { Link, takeFragmentParameter } from '../router.tsx';

/** The goodbye page's address: with the date of the erasure when it is scheduled, without one when the account is gone. */
export function goodbyePath(dueAt: string | null): string {
  return dueAt === null ? '/goodbye' : `/goodbye?${new URLSearchParams({ due_at: dueAt }).toString()}`;
}

/** The date in the address, when it is one (the address can be edited: anything else is ignored). */
function dueAtOfAddress(): string | null {
  const value = new URLSearchParams(window.location.search).get('due_at');
  return value !== null && Number.isFinite(Date.parse(value)) ? value : null;
}

function LogInLink(): ReactNode {
  return (
    <p>
      <Link to="/login" className="button-link">
        Log in
      </Link>
    </p>
  );
}

export function GoodbyePage(): ReactNode {
  const [dueAt] = useState(dueAtOfAddress);
  if (dueAt === null) {
    return (
      <Card title="Your account was deleted">
        <p>Your account and everything held about it were erased, and every session was signed out. We sent a last message to your address.</p>
      </Card>
    );
  }
  return (
    <Card title="Your account will be deleted">
      <p>
        Your account is scheduled for deletion on <DateTime value={dueAt} />. You were signed out everywhere.
      </p>
      <p>Changed your mind? Until then, log in again and choose to keep your account, or open the link in the message we sent you.</p>
      <LogInLink />
    </Card>
  );
}

export function CancelDeletionPage(): ReactNode {
  const [linkCode] = useState(() => takeFragmentParameter('token'));
  const [kept, setKept] = useState(false);
  const action = useAction();

  if (linkCode === null) {
    return (
      <Card title="Link incomplete">
        <p>This page needs the link from the message about your account&apos;s deletion. Open the link from the mail again, or log in and choose to keep your account.</p>
        <LogInLink />
      </Card>
    );
  }
  if (kept) {
    return (
      <Card title="Your account is kept">
        <p>The deletion was cancelled: your account and its data stay. If you did not ask for the deletion, log in and change your password.</p>
        <LogInLink />
      </Card>
    );
  }
  return (
    <Card title="Keep your account">
      <p>Your account is scheduled for deletion. Keep it, and everything in it stays as it is.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => settle(api.POST('/v1/auth/deletion/cancel', { body: { token: linkCode } }))).then((answer) => {
            if (answer !== null) setKept(true);
          });
        }}
      >
        <ProblemAlert problem={action.problem}>
          {action.problem?.code === 'invalid_link' ? (
            <p>
              The deletion may already be cancelled. Otherwise, <Link to="/login">log in</Link> and choose to keep your account.
            </p>
          ) : null}
        </ProblemAlert>
        <SubmitButton busy={action.busy} busyText="Keeping it…">
          Keep my account
        </SubmitButton>
      </form>
    </Card>
  );
}
