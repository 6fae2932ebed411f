import { AppError } from '../../core/errors.ts';

export function weakPasswordError(verdict: { reasons: readonly string[]; suggestions: readonly string[] }): AppError {
  return new AppError('weak_password', {
    fields: verdict.reasons.map((reason) => ({ field: '/body/password', rule: reason })),
    suggestions: verdict.suggestions,
  });
}
