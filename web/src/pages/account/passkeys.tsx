// Passkeys: add one (navigator.credentials.create with the server's options), rename or
// remove one. Adding and removing are step-up actions; the first factor comes with
// recovery codes, which the page then shows once.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { Field, SubmitButton, useAction } from '../../components/form.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { canUsePasskeys, createPasskey, type PasskeyCreation } from '../../webauthn.ts';
import { AccountProblem, ConfirmedAction, DateTime, Done, Loading } from './shared.tsx';
import type { Passkey } from './types.ts';
import { useLoad } from './use-load.ts';

const NAME_MAX_LENGTH = 64;

function RenameForm(props: { readonly passkey: Passkey; readonly onDone: (renamed: boolean) => void }): ReactNode {
  const [name, setName] = useState(props.passkey.name);
  const action = useAction();
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        const body = { name: name.trim() };
        void action.run(() => settle(api.PATCH('/v1/me/passkeys/{id}', { params: { path: { id: props.passkey.id } }, body }))).then((answer) => {
          if (answer !== null) props.onDone(true);
        });
      }}
    >
      <AccountProblem problem={action.problem} />
      <Field name="name" label="New name" required maxLength={NAME_MAX_LENGTH} autoComplete="off" value={name} onValue={setName} problem={action.problem} />
      <div className="button-row">
        <SubmitButton busy={action.busy} busyText="Saving…">
          Save the name
        </SubmitButton>
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            props.onDone(false);
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

function PasskeyItem(props: { readonly passkey: Passkey; readonly onChanged: () => void }): ReactNode {
  const { passkey } = props;
  const [renaming, setRenaming] = useState(false);
  return (
    <li className="item">
      <p className="item-title">
        <span>{passkey.name}</span>
        <span className="badge">{passkey.device_type === 'multiDevice' ? 'Synced' : 'This device only'}</span>
      </p>
      <dl className="details">
        <dt>Added</dt>
        <dd>
          <DateTime value={passkey.created_at} />
        </dd>
        <dt>Last used</dt>
        <dd>{passkey.last_used_at === null ? 'Never' : <DateTime value={passkey.last_used_at} />}</dd>
      </dl>
      {renaming ? (
        <RenameForm
          passkey={passkey}
          onDone={(renamed) => {
            setRenaming(false);
            if (renamed) props.onChanged();
          }}
        />
      ) : (
        <div className="button-row">
          <button
            type="button"
            className="button-secondary"
            onClick={() => {
              setRenaming(true);
            }}
          >
            Rename
          </button>
          <ConfirmedAction
            label="Remove"
            question={`Remove the passkey “${passkey.name}”? It will no longer sign you in.`}
            confirmLabel="Remove it"
            call={() => settle(api.DELETE('/v1/me/passkeys/{id}', { params: { path: { id: passkey.id } } }))}
            onDone={props.onChanged}
          />
        </div>
      )}
    </li>
  );
}

const CREATION_NOTES: Readonly<Record<Exclude<PasskeyCreation, { ok: true }>['reason'], string>> = {
  cancelled: 'No passkey was added (the request was cancelled or timed out).',
  exists: 'This device already holds a passkey for your account.',
};

function AddPasskey(props: { readonly onAdded: (codes: readonly string[] | null) => void }): ReactNode {
  const [name, setName] = useState('');
  const [creating, setCreating] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const action = useAction();
  const stepUp = useStepUp();

  const add = async (): Promise<void> => {
    const options = await action.run(() => stepUp(() => settle(api.POST('/v1/me/passkeys/options'))));
    if (options === null) return;
    let created: PasskeyCreation;
    try {
      created = await createPasskey(options);
    } catch {
      // A SecurityError, say, when the site's address is not one passkeys can be bound to.
      setNote('This browser could not create a passkey for this site.');
      return;
    }
    if (!created.ok) {
      setNote(CREATION_NOTES[created.reason]);
      return;
    }
    const trimmed = name.trim();
    const body = { response: created.credential, ...(trimmed === '' ? {} : { name: trimmed }) };
    const registered = await action.run(() => stepUp(() => settle(api.POST('/v1/me/passkeys', { body }))));
    if (registered === null) return;
    setName('');
    setAdded(registered.passkey.name);
    props.onAdded(registered.recovery_codes);
  };

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setNote(null);
        setAdded(null);
        setCreating(true);
        void add().finally(() => {
          setCreating(false);
        });
      }}
    >
      <AccountProblem problem={action.problem} />
      {note === null ? null : <p role="alert">{note}</p>}
      {added === null ? null : <Done>The passkey “{added}” was added.</Done>}
      <Field
        name="name"
        label="Name for the new passkey (optional)"
        maxLength={NAME_MAX_LENGTH}
        autoComplete="off"
        value={name}
        onValue={setName}
        problem={action.problem}
        hint="Say where it lives, like “Work laptop”."
      />
      <SubmitButton busy={creating} busyText="Waiting for your passkey…">
        Add a passkey
      </SubmitButton>
    </form>
  );
}

export function PasskeysSection(props: { readonly onChanged: (codes: readonly string[] | null) => void }): ReactNode {
  const list = useLoad(() => settle(api.GET('/v1/me/passkeys')));
  const { outcome } = list;
  const changed = (codes: readonly string[] | null): void => {
    list.reload();
    props.onChanged(codes);
  };
  return (
    <>
      <p>A passkey signs you in with your device's screen lock or a security key, without a password or code.</p>
      {outcome === null ? <Loading>Loading your passkeys…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {outcome?.ok === true && outcome.data.length === 0 ? <p>You have no passkey yet.</p> : null}
      {outcome?.ok === true && outcome.data.length > 0 ? (
        <ul className="item-list" aria-label="Passkeys">
          {outcome.data.map((passkey) => (
            <PasskeyItem
              key={passkey.id}
              passkey={passkey}
              onChanged={() => {
                changed(null);
              }}
            />
          ))}
        </ul>
      ) : null}
      {canUsePasskeys() ? <AddPasskey onAdded={changed} /> : <p>This browser cannot create passkeys.</p>}
    </>
  );
}
