// What a new password must satisfy, after NIST SP 800-63B rev 4 §3.1.1.2: a minimum
// length (15 when the password is the only factor, 8 otherwise; 12 here by default and
// never below 8), a generous maximum, every character allowed, NO composition rules
// (no "one digit, one symbol"), and a refusal of passwords that are common (zxcvbn-ts's
// frequency list, drawn from leaked-password corpora; no lookup of a breach service),
// context-specific or easily guessed.
//
// A refusal carries stable snake_case reason codes (a public contract: never rename them)
// and human suggestions. Neither ever quotes the password.
import { createGuessabilityEstimator, type GuessabilityEstimator } from './guessability.ts';
import { codePointLength, normalizePassword } from './normalize.ts';
import { containsPersonalInfo, personalWords, type PersonalContext } from './personal-info.ts';

export type PasswordPolicyReason =
  | 'too_short'
  | 'too_long'
  | 'invalid_unicode'
  | 'common_password'
  | 'contains_personal_info'
  | 'too_guessable';

export type PasswordPolicyResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reasons: readonly PasswordPolicyReason[]; readonly suggestions: readonly string[] };

export interface PasswordPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  check(password: string, context: PersonalContext): Promise<PasswordPolicyResult>;
  /**
   * Resolves once a check needs no more loading (the dictionaries, on first use): a flow
   * that checks inside a transaction awaits it first, so the transaction never waits on it.
   */
  ready(): Promise<void>;
}

export interface PasswordPolicyOptions {
  readonly minLength?: number;
  readonly maxLength?: number;
}

export type { PersonalContext } from './personal-info.ts';

const FLOOR_MIN_LENGTH = 8;
const CEILING_MAX_LENGTH = 1024;
// zxcvbn's "safely unguessable" band starts at 3 (≥ 10^8 guesses).
const MIN_SCORE = 3;
// NFKC never composes more than four code points into one (e.g. Greek with three
// diacritics), so an input longer than this many UTF-16 units cannot normalize to an
// acceptable length; refuse it before spending time on normalization.
const MAX_UNITS_PER_CODE_POINT_BEFORE_NFKC = 8;

function advice(reason: PasswordPolicyReason, policy: { minLength: number; maxLength: number }): string {
  switch (reason) {
    case 'too_short':
      return `Use at least ${policy.minLength} characters; a few unrelated words make a long password easy to remember.`;
    case 'too_long':
      return `Use at most ${policy.maxLength} characters.`;
    case 'invalid_unicode':
      return 'The password contains an invalid character sequence.';
    case 'common_password':
      return 'This password is too common; choose one that is not on lists of leaked passwords.';
    case 'contains_personal_info':
      return 'Do not use your name or email address in your password.';
    case 'too_guessable':
      return 'This password is too easy to guess; add more words or make it longer.';
  }
}

function validateOptions(minLength: number, maxLength: number): void {
  if (!Number.isSafeInteger(minLength) || minLength < FLOOR_MIN_LENGTH) {
    throw new RangeError(`password minLength must be an integer of at least ${FLOOR_MIN_LENGTH}`);
  }
  if (!Number.isSafeInteger(maxLength) || maxLength < minLength || maxLength > CEILING_MAX_LENGTH) {
    throw new RangeError(`password maxLength must be an integer between minLength and ${CEILING_MAX_LENGTH}`);
  }
}

export function createPasswordPolicy(options: PasswordPolicyOptions = {}, deps: { estimator?: GuessabilityEstimator } = {}): PasswordPolicy {
  const minLength = options.minLength ?? 12;
  const maxLength = options.maxLength ?? 256;
  validateOptions(minLength, maxLength);
  const estimator = deps.estimator ?? createGuessabilityEstimator();
  const limits = { minLength, maxLength };

  const refuse = (reasons: PasswordPolicyReason[], feedback: readonly string[], password: string): PasswordPolicyResult => {
    const sentences = [...reasons.map((reason) => advice(reason, limits)), ...feedback];
    // zxcvbn's sentences are fixed; this filter only keeps that true if they ever change.
    const suggestions = [...new Set(sentences)].filter((sentence) => password === '' || !sentence.includes(password));
    return { ok: false, reasons, suggestions };
  };

  return {
    minLength,
    maxLength,
    ready: () => estimator.ready(),
    async check(password, context) {
      if (password.length > maxLength * MAX_UNITS_PER_CODE_POINT_BEFORE_NFKC) return refuse(['too_long'], [], password);
      const normalized = normalizePassword(password);
      const length = codePointLength(normalized);
      const reasons: PasswordPolicyReason[] = [];
      if (length < minLength) reasons.push('too_short');
      if (length > maxLength) reasons.push('too_long');
      if (!normalized.isWellFormed()) reasons.push('invalid_unicode');
      const words = personalWords(context);
      const guessability = await estimator.estimate(normalized, words);
      if (guessability.common) reasons.push('common_password');
      if (containsPersonalInfo(normalized, words)) reasons.push('contains_personal_info');
      if (guessability.score < MIN_SCORE) reasons.push('too_guessable');
      return reasons.length === 0 ? { ok: true } : refuse(reasons, guessability.feedback, password);
    },
  };
}
