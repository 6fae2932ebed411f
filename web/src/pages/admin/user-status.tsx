// A user's state at a glance: active or disabled, locked out or not, address verified or not.
import type { ReactNode } from 'react';
import { formatTime } from './common.tsx';
import type { AdminUser } from './types.ts';

export function UserStatus(props: { readonly user: Pick<AdminUser, 'status' | 'email_verified' | 'locked_until'> }): ReactNode {
  const { user } = props;
  return (
    <ul className="badges" aria-label="Status">
      <li className={user.status === 'active' ? 'badge badge-ok' : 'badge badge-bad'}>{user.status === 'active' ? 'Active' : 'Disabled'}</li>
      {user.locked_until === null ? null : <li className="badge badge-bad">Locked until {formatTime(user.locked_until)}</li>}
      <li className={user.email_verified ? 'badge' : 'badge badge-warn'}>{user.email_verified ? 'Verified' : 'Not verified'}</li>
    </ul>
  );
}
