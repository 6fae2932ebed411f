// Names for the API shapes the pages use, taken from the generated types (openapi.ts), so a
// change of a route's schema shows here as a type error.
import type { paths } from './openapi.ts';

/** The JSON body of a response in the generated types. */
export type JSONBody<Response> = Response extends { readonly content: { readonly 'application/json': infer Body } } ? Body : never;

export type LoginAnswer = JSONBody<paths['/v1/auth/login']['post']['responses'][200]>;
/** A completed login (password, second factor or passkey): bearer tokens, or in cookie mode none (the cookies are set). */
export type SignedIn = Exclude<LoginAnswer, { readonly mfa_required: true }>;
/** A correct password for an account with a second factor: finish with POST /v1/auth/mfa. */
export type MfaChallenge = Extract<LoginAnswer, { readonly mfa_required: true }>;
export type SecondFactorMethod = MfaChallenge['methods'][number];
export type Profile = JSONBody<paths['/v1/me']['get']['responses'][200]>;
