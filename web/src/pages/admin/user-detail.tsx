// /admin/users/:id: one account and what an administrator may do to it. Each action shows
// only with its permission; destructive ones ask first; step-up routes (role changes,
// removing second factors) may first ask the admin to confirm it is them.
import { useId, useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle, type Outcome, type Problem } from '../../api/problem.ts';
import { Field, ProblemAlert, useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { holds, useAccess, type Access } from '../../permissions.ts';
import { Link } from '../../router.tsx';
import { ConfirmButton } from '../../components/confirm-button.tsx';
import { formatTime, LoadFailed, Notice, useLoaded } from './common.tsx';
import type { AdminUser, Role } from './types.ts';
import { UserStatus } from './user-status.tsx';

interface Actions {
  readonly busy: boolean;
  /** Runs a change (through step-up); `said` turns its answer into the line shown after it. */
  run<T>(call: () => Promise<Outcome<T>>, said: (data: T) => string): void;
}

function useUserActions(): Actions & { readonly problem: Problem | null; readonly notice: string | null } {
  const action = useAction();
  const stepUp = useStepUp();
  const [notice, setNotice] = useState<string | null>(null);
  return {
    busy: action.busy,
    problem: action.problem,
    notice,
    run(call, said) {
      setNotice(null);
      void action.run(() => stepUp(call)).then((data) => {
        if (data !== null) setNotice(said(data));
      });
    },
  };
}

const path = (id: string): { params: { path: { id: string } } } => ({ params: { path: { id } } });

function RoleAssignment(props: { readonly user: AdminUser; readonly access: Access; readonly actions: Actions; readonly onUser: (user: AdminUser) => void }): ReactNode {
  const { user, actions } = props;
  const selectId = useId();
  const [typed, setTyped] = useState('');
  const [picked, setPicked] = useState('');
  // Offer the defined roles when the admin may read them; otherwise a role is named by hand.
  const stepUp = useStepUp();
  const roles = useLoaded<readonly Role[]>(() => (holds(props.access, 'roles:read') ? stepUp(() => settle(api.GET('/v1/admin/roles'))) : Promise.resolve({ ok: true, data: [] })));
  const assignable = roles.outcome?.ok === true ? roles.outcome.data.filter((role) => !user.roles.includes(role.name)) : [];
  const choose = roles.outcome?.ok === true && roles.outcome.data.length > 0;
  const wanted = choose ? picked : typed.trim();

  const assign = (role: string): void => {
    actions.run(
      () => settle(api.PUT('/v1/admin/users/{id}/roles/{role}', { params: { path: { id: user.id, role } } })),
      (answer) => {
        props.onUser(answer);
        setPicked('');
        setTyped('');
        return `Role ${role} assigned.`;
      },
    );
  };
  const remove = (role: string): void => {
    actions.run(
      () => settle(api.DELETE('/v1/admin/users/{id}/roles/{role}', { params: { path: { id: user.id, role } } })),
      (answer) => {
        props.onUser(answer);
        return `Role ${role} removed.`;
      },
    );
  };

  return (
    <section aria-labelledby={`${selectId}-heading`}>
      <h2 id={`${selectId}-heading`}>Roles</h2>
      {user.roles.length === 0 ? <p>No roles.</p> : null}
      <ul className="admin-list">
        {user.roles.map((role) => (
          <li key={role} className="admin-item admin-item-row">
            <span>{role}</span>
            <button
              type="button"
              className="button-secondary"
              disabled={actions.busy}
              aria-label={`Remove the role ${role}`}
              onClick={() => {
                remove(role);
              }}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (wanted !== '') assign(wanted);
        }}
      >
        {choose ? (
          <div className="field">
            <label htmlFor={selectId}>Role to assign</label>
            <select
              id={selectId}
              required
              value={picked}
              onChange={(event) => {
                setPicked(event.target.value);
              }}
            >
              <option value="">Choose a role</option>
              {assignable.map((role) => (
                <option key={role.name} value={role.name}>
                  {role.name}
                  {role.description === '' ? '' : ` (${role.description})`}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <Field name="role" label="Role to assign" required maxLength={63} autoComplete="off" spellCheck={false} value={typed} onValue={setTyped} problem={null} />
        )}
        <button type="submit" className="button-secondary" disabled={actions.busy || wanted === ''}>
          Assign role
        </button>
      </form>
    </section>
  );
}

function AccountActions(props: { readonly user: AdminUser; readonly access: Access; readonly actions: Actions; readonly onUser: (user: AdminUser) => void; readonly reload: () => void; readonly onDeleted: () => void }): ReactNode {
  const { user, access, actions } = props;
  const who = user.email ?? 'this user';
  const may = (permission: string): boolean => holds(access, permission);
  const buttons: ReactNode[] = [];
  if (may('users:write')) {
    buttons.push(
      user.status === 'active' ? (
        <ConfirmButton
          key="disable"
          label="Disable account"
          question={`Disable ${who}? Their sessions end at once, and they cannot log in until the account is enabled again.`}
          confirmLabel="Disable"
          busy={actions.busy}
          onConfirm={() => {
            actions.run(
              () => settle(api.PATCH('/v1/admin/users/{id}', { ...path(user.id), body: { status: 'disabled' } })),
              (answer) => {
                props.onUser(answer);
                return 'The account is disabled.';
              },
            );
          }}
        />
      ) : (
        <button
          key="enable"
          type="button"
          className="button-secondary"
          disabled={actions.busy}
          onClick={() => {
            actions.run(
              () => settle(api.PATCH('/v1/admin/users/{id}', { ...path(user.id), body: { status: 'active' } })),
              (answer) => {
                props.onUser(answer);
                return 'The account is enabled.';
              },
            );
          }}
        >
          Enable account
        </button>
      ),
    );
  }
  if (may('users:lock') && user.locked_until !== null) {
    buttons.push(
      <button
        key="unlock"
        type="button"
        className="button-secondary"
        disabled={actions.busy}
        onClick={() => {
          actions.run(
            () => settle(api.POST('/v1/admin/users/{id}/unlock', path(user.id))),
            () => {
              props.reload();
              return 'The account is unlocked.';
            },
          );
        }}
      >
        Unlock
      </button>,
    );
  }
  if (may('sessions:revoke')) {
    buttons.push(
      <ConfirmButton
        key="revoke"
        label="Sign out everywhere"
        question={`End every session of ${who}? They will have to log in again on each device.`}
        confirmLabel="End their sessions"
        busy={actions.busy}
        onConfirm={() => {
          actions.run(
            () => settle(api.POST('/v1/admin/users/{id}/sessions/revoke', path(user.id))),
            (answer) => `Ended ${answer.revoked} session${answer.revoked === 1 ? '' : 's'}.`,
          );
        }}
      />,
    );
  }
  if (may('users:write')) {
    buttons.push(
      <ConfirmButton
        key="reset"
        label="Send a password reset"
        question={`Mail ${who} a link to choose a new password? Every session of theirs ends now.`}
        confirmLabel="Send the link"
        busy={actions.busy}
        onConfirm={() => {
          actions.run(
            () => settle(api.POST('/v1/admin/users/{id}/password-reset', path(user.id))),
            () => 'A password reset link is on its way.',
          );
        }}
      />,
      <ConfirmButton
        key="mfa"
        label="Remove second factors"
        question={`Remove the authenticator app, recovery codes and passkeys of ${who}? Every session of theirs ends, and they are told by mail.`}
        confirmLabel="Remove them"
        busy={actions.busy}
        onConfirm={() => {
          actions.run(
            () => settle(api.DELETE('/v1/admin/users/{id}/mfa', path(user.id))),
            () => 'Their second factors are removed.',
          );
        }}
      />,
    );
  }
  if (may('users:delete')) {
    buttons.push(
      <ConfirmButton
        key="delete"
        label="Delete user"
        question={`Delete ${who} and all their data? This cannot be undone.`}
        confirmLabel="Delete for good"
        busy={actions.busy}
        onConfirm={() => {
          actions.run(
            () => settle(api.DELETE('/v1/admin/users/{id}', path(user.id))),
            () => {
              props.onDeleted();
              return 'The user is deleted.';
            },
          );
        }}
      />,
    );
  }
  if (buttons.length === 0) return null;
  return (
    <section aria-labelledby="account-actions">
      <h2 id="account-actions">Actions</h2>
      <div className="button-stack">{buttons}</div>
    </section>
  );
}

export function UserDetailPage(props: { readonly id: string }): ReactNode {
  const access = useAccess();
  const stepUp = useStepUp();
  const loaded = useLoaded(() => stepUp(() => settle(api.GET('/v1/admin/users/{id}', path(props.id)))));
  const actions = useUserActions();
  const [deleted, setDeleted] = useState(false);

  if (deleted) {
    return (
      <Card title="User deleted">
        <Notice text={actions.notice} />
        <p>
          <Link to="/admin/users">Back to the users</Link>
        </p>
      </Card>
    );
  }
  const { outcome } = loaded;
  return (
    <Card title="User" busy={actions.busy}>
      <p>
        <Link to="/admin/users">All users</Link>
      </p>
      {outcome === null ? <p role="status">Loading the user…</p> : null}
      {outcome !== null && !outcome.ok ? <LoadFailed outcome={outcome} /> : null}
      {outcome?.ok === true ? (
        <>
          <dl className="details">
            <dt>Email</dt>
            <dd>{outcome.data.email ?? 'Removed'}</dd>
            <dt>Name</dt>
            <dd>{outcome.data.name ?? 'Not set'}</dd>
            <dt>Status</dt>
            <dd>
              <UserStatus user={outcome.data} />
            </dd>
            <dt>Created</dt>
            <dd>{formatTime(outcome.data.created_at)}</dd>
            <dt>Id</dt>
            <dd className="mono">{outcome.data.id}</dd>
          </dl>
          <ProblemAlert problem={actions.problem} />
          <Notice text={actions.notice} />
          <AccountActions
            user={outcome.data}
            access={access}
            actions={actions}
            onUser={loaded.replace}
            reload={loaded.reload}
            onDeleted={() => {
              setDeleted(true);
            }}
          />
          {holds(access, 'roles:assign') ? <RoleAssignment user={outcome.data} access={access} actions={actions} onUser={loaded.replace} /> : null}
        </>
      ) : null}
    </Card>
  );
}
