// Names for the account pages' API shapes, taken from the generated types (openapi.ts), so
// a change of a route's schema shows here as a type error.
import type { paths } from '../../api/openapi.ts';

type JSONBody<Response> = Response extends { readonly content: { readonly 'application/json': infer Body } } ? Body : never;

export type AccountSession = JSONBody<paths['/v1/me/sessions']['get']['responses'][200]>[number];
export type EventPage = JSONBody<paths['/v1/me/events']['get']['responses'][200]>;
export type SecurityEvent = EventPage['events'][number];
export type MfaStatus = JSONBody<paths['/v1/me/mfa']['get']['responses'][200]>;
export type TotpEnrolment = JSONBody<paths['/v1/me/mfa/totp']['post']['responses'][200]>;
export type Passkey = JSONBody<paths['/v1/me/passkeys']['get']['responses'][200]>[number];
export type AccountFile = JSONBody<paths['/v1/me/files']['get']['responses'][200]>['files'][number];
