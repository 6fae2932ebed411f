// /admin/roles: the built-in roles (read-only: the code defines them) and custom roles,
// each a named set of permissions from the catalog (GET /v1/admin/permissions). Creating,
// changing and deleting a custom role needs `roles:write`, a recent sign-in, and holding
// every permission it grants (the server says `forbidden` otherwise).
import { useId, useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle, type Outcome, type Problem } from '../../api/problem.ts';
import { Field, ProblemAlert, SubmitButton, useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { holds, useAccess } from '../../permissions.ts';
import { ConfirmButton } from '../../components/confirm-button.tsx';
import { LoadFailed, Notice, useLoaded } from './common.tsx';
import type { PermissionCatalog, PermissionName, Role } from './types.ts';

type Catalog = PermissionCatalog['permissions'];

interface Draft {
  readonly name: string;
  readonly description: string;
  readonly permissions: ReadonlySet<string>;
}

const EMPTY: Draft = { name: '', description: '', permissions: new Set() };

/** The form for a new role (`editing` null) or for changing one; the name of an existing role is fixed. */
function RoleForm(props: {
  readonly catalog: Catalog;
  readonly editing: Role | null;
  readonly busy: boolean;
  readonly problem: Problem | null;
  readonly onSubmit: (draft: Draft) => void;
  readonly onCancel: (() => void) | null;
}): ReactNode {
  const { editing } = props;
  const [draft, setDraft] = useState<Draft>(editing === null ? EMPTY : { name: editing.name, description: editing.description, permissions: new Set(editing.permissions) });
  const legendId = useId();
  const toggle = (permission: string, on: boolean): void => {
    const permissions = new Set(draft.permissions);
    if (on) permissions.add(permission);
    else permissions.delete(permission);
    setDraft({ ...draft, permissions });
  };
  return (
    <form
      className="role-form"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit({ ...draft, name: draft.name.trim() });
      }}
    >
      <h2>{editing === null ? 'Create a custom role' : `Change the role ${editing.name}`}</h2>
      {editing === null ? (
        <Field
          name="name"
          label="Name"
          required
          maxLength={63}
          autoComplete="off"
          spellCheck={false}
          value={draft.name}
          onValue={(name) => {
            setDraft({ ...draft, name });
          }}
          problem={props.problem}
          hint="Lower-case letters, digits, - and _, starting with a letter."
        />
      ) : null}
      <Field
        name="description"
        label="Description (optional)"
        maxLength={500}
        autoComplete="off"
        value={draft.description}
        onValue={(description) => {
          setDraft({ ...draft, description });
        }}
        problem={props.problem}
      />
      <fieldset className="permission-choices" aria-describedby={legendId}>
        <legend>Permissions</legend>
        <p className="hint" id={legendId}>
          You can grant only permissions you hold yourself.
        </p>
        {props.catalog.map((permission) => (
          <label key={permission.name} className="checkbox">
            <input
              type="checkbox"
              name="permissions"
              value={permission.name}
              checked={draft.permissions.has(permission.name)}
              onChange={(event) => {
                toggle(permission.name, event.target.checked);
              }}
            />
            <span>
              <span className="mono">{permission.name}</span>
              <span className="muted"> — {permission.description}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <div className="button-row">
        <SubmitButton busy={props.busy} busyText="Saving…">
          {editing === null ? 'Create role' : 'Save changes'}
        </SubmitButton>
        {props.onCancel === null ? null : (
          <button type="button" className="button-secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function RoleItem(props: { readonly role: Role; readonly canWrite: boolean; readonly busy: boolean; readonly onEdit: () => void; readonly onDelete: () => void }): ReactNode {
  const { role } = props;
  const headingId = useId();
  return (
    <li className="admin-item" aria-labelledby={headingId}>
      <h2 id={headingId} className="admin-item-title">
        {role.name} {role.built_in ? <span className="badge">Built in</span> : <span className="badge badge-ok">Custom</span>}
      </h2>
      {role.description === '' ? null : <p className="muted">{role.description}</p>}
      <p>{role.permissions.length === 0 ? 'No permissions: the user\'s own account only.' : 'Permissions:'}</p>
      {role.permissions.length === 0 ? null : (
        <ul className="tags">
          {role.permissions.map((permission) => (
            <li key={permission} className="mono">
              {permission}
            </li>
          ))}
        </ul>
      )}
      {role.built_in ? (
        <p className="muted">Built-in roles are defined by Gatehouse and cannot be changed.</p>
      ) : props.canWrite ? (
        <div className="button-row">
          <button type="button" className="button-secondary" disabled={props.busy} onClick={props.onEdit} aria-label={`Change the role ${role.name}`}>
            Change
          </button>
          <ConfirmButton
            label="Delete"
            name={`Delete the role ${role.name}`}
            question={`Delete the role ${role.name}? Everyone holding it loses its permissions at once.`}
            confirmLabel="Delete the role"
            busy={props.busy}
            onConfirm={props.onDelete}
          />
        </div>
      ) : null}
    </li>
  );
}

function sortedRoles(roles: readonly Role[]): Role[] {
  return [...roles].sort((a, b) => Number(b.built_in) - Number(a.built_in) || a.name.localeCompare(b.name));
}

export function RolesPage(): ReactNode {
  const access = useAccess();
  const canWrite = holds(access, 'roles:write');
  const stepUp = useStepUp();
  const roles = useLoaded(() => stepUp(() => settle(api.GET('/v1/admin/roles'))));
  const catalog = useLoaded(() => stepUp(() => settle(api.GET('/v1/admin/permissions'))));
  const action = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Role | null>(null);
  // A new form after each creation, so the next one starts empty.
  const [formKey, setFormKey] = useState(0);

  const change = <T,>(call: () => Promise<Outcome<T>>, done: (data: T) => string): void => {
    setNotice(null);
    void action.run(() => stepUp(call)).then((data) => {
      if (data === null) return;
      setNotice(done(data));
      roles.reload();
    });
  };

  const save = (draft: Draft): void => {
    // The names come from the catalog's checkboxes; the server refuses any other.
    const permissions = [...draft.permissions] as PermissionName[];
    if (editing === null) {
      change(
        () => settle(api.POST('/v1/admin/roles', { body: { name: draft.name, description: draft.description, permissions } })),
        (role) => {
          setFormKey((key) => key + 1);
          return `Role ${role.name} created.`;
        },
      );
      return;
    }
    change(
      () => settle(api.PUT('/v1/admin/roles/{name}', { params: { path: { name: editing.name } }, body: { description: draft.description, permissions } })),
      (role) => {
        setEditing(null);
        return `Role ${role.name} saved.`;
      },
    );
  };

  return (
    <Card title="Roles" busy={action.busy}>
      <ProblemAlert problem={action.problem} />
      <Notice text={notice} />
      {roles.outcome === null ? <p role="status">Loading roles…</p> : null}
      {roles.outcome !== null && !roles.outcome.ok ? <LoadFailed outcome={roles.outcome} /> : null}
      {roles.outcome?.ok === true ? (
        <ul className="admin-list" aria-label="Roles">
          {sortedRoles(roles.outcome.data).map((role) => (
            <RoleItem
              key={role.name}
              role={role}
              canWrite={canWrite}
              busy={action.busy}
              onEdit={() => {
                action.clear();
                setEditing(role);
              }}
              onDelete={() => {
                change(
                  () => settle(api.DELETE('/v1/admin/roles/{name}', { params: { path: { name: role.name } } })),
                  () => `Role ${role.name} deleted.`,
                );
              }}
            />
          ))}
        </ul>
      ) : null}
      {canWrite && catalog.outcome !== null ? (
        catalog.outcome.ok ? (
          <RoleForm
            key={editing === null ? `new-${formKey}` : `edit-${editing.name}`}
            catalog={catalog.outcome.data.permissions}
            editing={editing}
            busy={action.busy}
            problem={action.problem}
            onSubmit={save}
            onCancel={
              editing === null
                ? null
                : () => {
                    setEditing(null);
                  }
            }
          />
        ) : (
          <LoadFailed outcome={catalog.outcome} />
        )
      ) : null}
    </Card>
  );
}
