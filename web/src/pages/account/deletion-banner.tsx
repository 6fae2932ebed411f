// The reminder that the account's deletion is scheduled (GET /v1/me/deletion), on the
// overview and on "Your data": logging in again during the grace period and keeping the
// account (DELETE /v1/me/deletion) cancels it, as the mailed link does.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { DateTime } from '../../components/date-time.tsx';
import { useAction } from '../../components/form.tsx';
import { AccountProblem, Done } from './shared.tsx';
import { useLoad } from './use-load.ts';

export function DeletionBanner(): ReactNode {
  const loaded = useLoad(() => settle(api.GET('/v1/me/deletion')));
  const [kept, setKept] = useState(false);
  const action = useAction();
  if (kept) return <Done>Your account will be kept: its deletion was cancelled.</Done>;
  // Nothing while it loads or when it could not be loaded: the page's own content reports
  // a lost session or an unreachable server, once.
  const { outcome } = loaded;
  const dueAt = outcome?.ok === true && outcome.data.scheduled ? outcome.data.due_at : undefined;
  if (dueAt === undefined) return null;
  return (
    <section className="alert alert-info" aria-label="Account deletion">
      <p>
        Your account will be deleted on <DateTime value={dueAt} />.
      </p>
      <AccountProblem problem={action.problem} />
      <button
        type="button"
        className="button-primary"
        disabled={action.busy}
        aria-busy={action.busy}
        onClick={() => {
          void action.run(() => settle(api.DELETE('/v1/me/deletion'))).then((answer) => {
            if (answer !== null) setKept(true);
          });
        }}
      >
        {action.busy ? 'Keeping it…' : 'Keep my account'}
      </button>
    </section>
  );
}
