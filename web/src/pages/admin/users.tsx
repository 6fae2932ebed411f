// /admin/users: every account, newest last (ids are time-ordered), a page at a time; a
// search by exact email (addresses are stored encrypted, matched through a blind index, so
// there is no partial search) and by status.
import { useId, useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { Field, ProblemAlert, SubmitButton } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { Link } from '../../router.tsx';
import { UserStatus } from './user-status.tsx';
import { BusyButton, usePages } from './common.tsx';
import type { AdminUser } from './types.ts';

const PAGE_SIZE = 25;

type StatusFilter = '' | 'active' | 'disabled';

interface Search {
  readonly email: string;
  readonly status: StatusFilter;
}

function queryOf(search: Search, cursor: string | null): { limit: number; query?: string; status?: 'active' | 'disabled'; cursor?: string } {
  return {
    limit: PAGE_SIZE,
    ...(search.email === '' ? {} : { query: search.email }),
    ...(search.status === '' ? {} : { status: search.status }),
    ...(cursor === null ? {} : { cursor }),
  };
}

function UserRow(props: { readonly user: AdminUser }): ReactNode {
  const { user } = props;
  return (
    <li className="admin-item">
      <p className="admin-item-title">
        <Link to={`/admin/users/${user.id}`}>{user.email ?? 'Address removed'}</Link>
      </p>
      {user.name === null ? null : <p className="muted">{user.name}</p>}
      <UserStatus user={user} />
      <p className="muted">Roles: {user.roles.length === 0 ? 'none' : user.roles.join(', ')}</p>
    </li>
  );
}

export function UsersPage(): ReactNode {
  const [email, setEmail] = useState('');
  const [status, setStatus] = useState<StatusFilter>('');
  const statusId = useId();
  const stepUp = useStepUp();
  const pages = usePages<AdminUser, Search>({ email: '', status: '' }, async (search, cursor) => {
    const outcome = await stepUp(() => settle(api.GET('/v1/admin/users', { params: { query: queryOf(search, cursor) } })));
    return outcome.ok ? { ok: true, data: { items: outcome.data.users, next: outcome.data.next_cursor } } : outcome;
  });
  const users = pages.items;

  return (
    <Card title="Users" busy={pages.busy}>
      <form
        className="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          pages.search({ email: email.trim(), status });
        }}
      >
        <Field
          name="query"
          label="Email address"
          type="email"
          autoComplete="off"
          maxLength={254}
          value={email}
          onValue={setEmail}
          problem={pages.problem}
          hint="The whole address: addresses are stored encrypted, so a part of one finds nothing."
        />
        <div className="field">
          <label htmlFor={statusId}>Status</label>
          <select
            id={statusId}
            value={status}
            onChange={(event) => {
              setStatus(event.target.value as StatusFilter);
            }}
          >
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="disabled">Disabled</option>
          </select>
        </div>
        <SubmitButton busy={pages.busy} busyText="Searching…">
          Search
        </SubmitButton>
      </form>
      <ProblemAlert problem={pages.problem} />
      {users === null ? (
        pages.problem === null ? <p role="status">Loading users…</p> : null
      ) : (
        <>
          <p role="status" className="muted">
            {users.length === 0
              ? pages.applied.email === '' && pages.applied.status === ''
                ? 'There are no users yet.'
                : 'No user matches this search.'
              : `Showing ${users.length} user${users.length === 1 ? '' : 's'}${pages.more ? ' (more below)' : ''}.`}
          </p>
          <ul className="admin-list" aria-label="Users">
            {users.map((user) => (
              <UserRow key={user.id} user={user} />
            ))}
          </ul>
          {pages.more ? (
            <BusyButton busy={pages.busy} busyText="Loading…" onClick={pages.loadMore}>
              Show more users
            </BusyButton>
          ) : null}
        </>
      )}
    </Card>
  );
}
