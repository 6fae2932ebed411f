// The WWW-Authenticate challenge of a refused bearer request (RFC 6750 §3). A request with
// no bearer credentials at all gets the bare scheme; one whose token was presented and
// rejected gets `error="invalid_token"`, so a client knows to refresh or log in again;
// a valid token lacking the route's permission gets `error="insufficient_scope"` (403).
// No error_description: the reason stays in the log.

export type BearerError = 'invalid_token' | 'insufficient_scope';

const BEARER_SCHEME = /^bearer(?: |$)/i;

/** True when the Authorization header uses the Bearer scheme, whatever follows. */
export function presentsBearer(authorization: string | undefined): boolean {
  return authorization !== undefined && BEARER_SCHEME.test(authorization);
}

export function bearerChallenge(error?: BearerError): { 'www-authenticate': string } {
  return { 'www-authenticate': error === undefined ? 'Bearer' : `Bearer error="${error}"` };
}

/** The challenge of a 401: `invalid_token` only if a bearer token was presented. */
export function unauthorizedChallenge(authorization: string | undefined): { 'www-authenticate': string } {
  return bearerChallenge(presentsBearer(authorization) ? 'invalid_token' : undefined);
}
