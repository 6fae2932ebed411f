import { AppError } from '../../core/errors.ts';

/** The policy's refusal; its reasons point at the body field that held the new password. */
export function weakPasswordError(verdict: { reasons: readonly string[]; suggestions: readonly string[] }, field = 'password'): AppError {
  return new AppError('weak_password', {
    fields: verdict.reasons.map((reason) => ({ field: `/body/${field}`, rule: reason })),
    suggestions: verdict.suggestions,
  });
}
