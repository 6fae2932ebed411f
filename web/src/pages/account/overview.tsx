// /account: who is signed in, the name (which the user may change, within the API's
// bounds: 1 to 200 characters, or none), the picture (avatar.tsx), and logging out.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import type { Profile } from '../../api/types.ts';
import { Field, SubmitButton, useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { navigate } from '../../router.tsx';
import { session } from '../../session.ts';
import { AvatarSection } from './avatar.tsx';
import { DeletionBanner } from './deletion-banner.tsx';
import { AccountProblem, DateTime, Done, Loading } from './shared.tsx';
import { useLoad } from './use-load.ts';

const NAME_MAX_LENGTH = 200;

function NameForm(props: { readonly profile: Profile; readonly onSaved: (profile: Profile) => void }): ReactNode {
  const [name, setName] = useState(props.profile.name ?? '');
  const [saved, setSaved] = useState(false);
  const action = useAction();
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        const trimmed = name.trim();
        void action.run(() => settle(api.PATCH('/v1/me', { body: { name: trimmed === '' ? null : trimmed } }))).then((answer) => {
          if (answer === null) return;
          setSaved(true);
          props.onSaved(answer);
        });
      }}
    >
      <AccountProblem problem={action.problem} />
      <Field
        name="name"
        label="Name"
        autoComplete="name"
        maxLength={NAME_MAX_LENGTH}
        value={name}
        onValue={(value) => {
          setSaved(false);
          setName(value);
        }}
        problem={action.problem}
        hint="How you are greeted. Leave it empty to have no name."
      />
      {saved ? <Done>Your name was saved.</Done> : null}
      <SubmitButton busy={action.busy} busyText="Saving…">
        Save the name
      </SubmitButton>
    </form>
  );
}

function ProfileDetails(props: { readonly profile: Profile }): ReactNode {
  const { profile } = props;
  return (
    <dl className="details">
      <dt>Email</dt>
      <dd>{profile.email}</dd>
      <dt>Name</dt>
      <dd>{profile.name ?? 'Not set'}</dd>
      <dt>Roles</dt>
      <dd>{profile.roles.length === 0 ? 'None' : profile.roles.join(', ')}</dd>
      <dt>Member since</dt>
      <dd>
        <DateTime value={profile.created_at} />
      </dd>
    </dl>
  );
}

function LogOutButton(): ReactNode {
  const action = useAction();
  return (
    <button
      type="button"
      className="button-secondary"
      disabled={action.busy}
      onClick={() => {
        void action.run(() => settle(api.POST('/v1/auth/logout'))).finally(() => {
          // Logged out here whatever the server said: a session it no longer knows is over anyway.
          session.end();
          navigate('/login');
        });
      }}
    >
      {action.busy ? 'Logging out…' : 'Log out'}
    </button>
  );
}

export function OverviewPage(): ReactNode {
  const loaded = useLoad(() => settle(api.GET('/v1/me')));
  const [updated, setUpdated] = useState<Profile | null>(null);
  const { outcome } = loaded;
  const profile = updated ?? (outcome?.ok === true ? outcome.data : null);
  return (
    <Card title="Your account" busy={outcome === null}>
      <DeletionBanner />
      {outcome === null ? <Loading>Loading your profile…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {profile === null ? null : (
        <>
          <ProfileDetails profile={profile} />
          <h2>Your picture</h2>
          <AvatarSection />
          <h2>Your name</h2>
          <NameForm profile={profile} onSaved={setUpdated} />
        </>
      )}
      <h2>Log out</h2>
      <p>End this session on this device.</p>
      <LogOutButton />
    </Card>
  );
}
