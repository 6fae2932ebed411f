// What the signed-in user may do, from GET /v1/me's `permissions`: the app offers only the
// parts of the admin console the user may use. A hint for the interface, never a control:
// the server checks every request and refuses the rest with 403 forbidden.
import { useEffect, useSyncExternalStore } from 'react';
import { api } from './api/client.ts';
import { settle, type Problem } from './api/problem.ts';
import { session, type SessionState } from './session.ts';

export type Access =
  | { readonly status: 'anonymous' }
  | { readonly status: 'loading' }
  | { readonly status: 'known'; readonly permissions: ReadonlySet<string> }
  | { readonly status: 'failed'; readonly problem: Problem };

const ANONYMOUS: Access = { status: 'anonymous' };
const LOADING: Access = { status: 'loading' };

let access: Access = ANONYMOUS;
let loadedFor: SessionState | null = null;
let generation = 0;
const listeners = new Set<() => void>();
let stopFollowing: (() => void) | null = null;

function change(next: Access): void {
  access = next;
  for (const listener of listeners) listener();
}

/** Reads the permissions again (a page that shows admin actions asks on arrival: roles may have changed). */
export function reloadAccess(): void {
  const state = session.current();
  loadedFor = state;
  generation += 1;
  const mine = generation;
  if (state.status !== 'signed_in') {
    change(ANONYMOUS);
    return;
  }
  // A reload keeps what is known meanwhile, so the page does not flicker.
  if (access.status !== 'known') change(LOADING);
  void settle(api.GET('/v1/me')).then((outcome) => {
    if (mine !== generation) return;
    change(outcome.ok ? { status: 'known', permissions: new Set(outcome.data.permissions) } : { status: 'failed', problem: outcome.problem });
  });
}

function followSession(): void {
  if (session.current() !== loadedFor) reloadAccess();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  // Follows the session only while someone is listening: a new sign-in reads them anew.
  stopFollowing ??= session.subscribe(followSession);
  followSession();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      stopFollowing?.();
      stopFollowing = null;
    }
  };
}

export function useAccess(): Access {
  return useSyncExternalStore(subscribe, () => access);
}

/** The permissions, read again when the calling component mounts. */
export function useFreshAccess(): Access {
  useEffect(reloadAccess, []);
  return useAccess();
}

export function holds(state: Access, permission: string): boolean {
  return state.status === 'known' && state.permissions.has(permission);
}
