// Browser sessions as other features see them.
export { createBrowserSessions, SESSION_MODE_HEADER } from './browser-sessions.ts';
export type { BrowserSessions } from './browser-sessions.ts';
export { BROWSER_SESSION_KEY_PURPOSE, CSRF_COOKIE, DEVICE_COOKIE, REFRESH_COOKIE, SESSION_COOKIE } from './cookies.ts';
export { respondSignedIn } from './respond.ts';
