// The browser app's own paths. The server answers each with index.html and the app picks
// the page; the mails link to /verify-email, /reset-password and /cancel-deletion
// (features/mail), and /goodbye is where deleting one's account ends.
export const WEB_APP_PATHS = [
  '/',
  '/login',
  '/register',
  '/verify-email',
  '/forgot-password',
  '/reset-password',
  '/cancel-deletion',
  '/goodbye',
  '/account',
  '/account/*',
  '/admin',
  '/admin/*',
] as const;

export const WEB_ASSETS_ROUTE = '/assets/*';

/** A route of the app's pages or files, as Fastify lists it: kept out of the API's OpenAPI document. */
export function isWebAppRoute(path: string): boolean {
  return path === WEB_ASSETS_ROUTE || (WEB_APP_PATHS as readonly string[]).includes(path);
}
