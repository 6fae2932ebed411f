// Path routing with the History API, no library: the app has a dozen pages and needs only
// the current path, navigation, and links that do not reload the page.
import { useSyncExternalStore, type MouseEvent, type ReactNode } from 'react';

const NAVIGATED = 'gatehouse:navigated';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATED, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATED, listener);
  };
}

function currentPath(): string {
  return window.location.pathname;
}

/** The current path (no query, no fragment); re-renders on navigation and Back/Forward. */
export function usePath(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

/** Goes to another of the app's pages without reloading; `replace` leaves no history entry. */
export function navigate(path: string, options: { readonly replace?: boolean } = {}): void {
  if (options.replace === true) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATED));
}

function isPlainClick(event: MouseEvent<HTMLAnchorElement>): boolean {
  return !event.defaultPrevented && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

/** A real link (opens in a new tab, works without JavaScript's help) that navigates in place on a plain click. */
export function Link(props: { readonly to: string; readonly children: ReactNode; readonly className?: string; readonly current?: boolean }): ReactNode {
  return (
    <a
      href={props.to}
      className={props.className}
      aria-current={props.current === true ? 'page' : undefined}
      onClick={(event) => {
        if (!isPlainClick(event)) return;
        event.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

// The fragment as first read on this path: it is removed from the address bar at once, and a
// second read (React's StrictMode renders twice in development) must still find it.
let fragmentRead: { readonly path: string; readonly parameters: URLSearchParams } | null = null;

/** `name` from the URL fragment (`#token=…`, as the mails link), which is then removed from the address bar and history. */
export function takeFragmentParameter(name: string): string | null {
  const { pathname, search, hash } = window.location;
  if (hash.length > 1) {
    fragmentRead = { path: pathname, parameters: new URLSearchParams(hash.slice(1)) };
    // The token must not stay in history, nor be copied along with the address.
    window.history.replaceState(null, '', pathname + search);
  }
  const value = fragmentRead?.path === pathname ? fragmentRead.parameters.get(name) : null;
  return value === null || value === '' ? null : value;
}
