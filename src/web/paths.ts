// The browser app's own paths. The server answers each with index.html and the app picks
// the page; the mails link to /verify-email and /reset-password (features/mail).
export const WEB_APP_PATHS = [
  '/',
  '/login',
  '/register',
  '/verify-email',
  '/forgot-password',
  '/reset-password',
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
