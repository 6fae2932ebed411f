// How guessable a password is, by zxcvbn-ts with its common-password list (the top
// 49,000 from breach corpora), the English dictionaries and the keyboard graphs.
//
// Bounded work. zxcvbn-ts is superlinear in the length of the password and linear in the
// number of l33t variants it tries: with its defaults (256 characters, 100 variants) one
// adversarial 256-character input cost 2–5 s of CPU on this 2-core machine, an easy denial
// of service on a registration endpoint. So only the first SCORED_PREFIX_UNITS UTF-16 code
// units are scored, and at most L33T_VARIANTS l33t variants are tried: the worst input
// found then costs about 0.2 s of CPU (policy.security.test.ts keeps it under 1 s). A long
// password whose first 64 characters are hard to guess is hard to guess; one whose prefix
// is weak ("passwordpassword…") is refused, as it should be.
// The common-password list itself is checked against the whole password, not the prefix.
import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en';

export const SCORED_PREFIX_UNITS = 64;
const L33T_VARIANTS = 10;
const COMMON_LIST = 'passwords-common';

export interface Guessability {
  /** zxcvbn score 0–4 of the scored prefix. */
  readonly score: number;
  /** True when the password, or a l33t/reversed/capitalized spelling of it, is on the common list. */
  readonly common: boolean;
  /** Fixed sentences from zxcvbn's English translations; they never quote the password. */
  readonly feedback: readonly string[];
}

export interface GuessabilityEstimator {
  estimate(normalizedPassword: string, userInputs: readonly string[]): Guessability;
}

/** The longest prefix of at most `maxUnits` UTF-16 units that does not split a surrogate pair. */
export function scoredPrefix(text: string, maxUnits: number): string {
  let end = 0;
  for (const codePoint of text) {
    if (end + codePoint.length > maxUnits) break;
    end += codePoint.length;
  }
  return text.slice(0, end);
}

// zxcvbn types matches loosely (an index signature of `any`); read the two fields needed
// as unknown.
function isSoleCommonMatch(result: ZxcvbnResult, scoredLength: number): boolean {
  if (result.sequence.length !== 1) return false;
  const match: Record<string, unknown> = { ...result.sequence[0] };
  return match['pattern'] === 'dictionary' && match['dictionaryName'] === COMMON_LIST && match['i'] === 0 && match['j'] === scoredLength - 1;
}

function feedbackOf(result: ZxcvbnResult): string[] {
  const { warning, suggestions } = result.feedback;
  return warning === null || warning === '' ? [...suggestions] : [warning, ...suggestions];
}

interface Dictionaries {
  readonly zxcvbn: ZxcvbnFactory;
  readonly commonPasswords: ReadonlySet<string>;
}

// Building the dictionaries costs 0.2–0.7 s of CPU, and every app (so every test app)
// makes a password policy. They are immutable once built (zxcvbn-ts's check() reads its
// options and takes the user inputs per call), so the process builds them once, on the
// first estimate, and every estimator shares them. Only flows that set a password need
// them (never login, refresh or token checks), so a server starts and answers /readyz
// without them; `gatehouse serve` builds them once it is idle (preloadGuessability).
let dictionaries: Dictionaries | null = null;

function sharedDictionaries(): Dictionaries {
  dictionaries ??= {
    zxcvbn: new ZxcvbnFactory({
      dictionary: { ...commonDictionary, ...englishDictionary },
      graphs: adjacencyGraphs,
      translations,
      l33tMaxSubstitutions: L33T_VARIANTS,
      maxLength: SCORED_PREFIX_UNITS,
    }),
    commonPasswords: new Set(commonDictionary[COMMON_LIST].map((entry) => entry.toLowerCase())),
  };
  return dictionaries;
}

/** Builds the shared dictionaries now, so the first password set later does not wait for them. */
export function preloadGuessability(): void {
  sharedDictionaries();
}

export function createGuessabilityEstimator(): GuessabilityEstimator {
  return {
    estimate(normalizedPassword, userInputs) {
      const { zxcvbn, commonPasswords } = sharedDictionaries();
      const prefix = scoredPrefix(normalizedPassword, SCORED_PREFIX_UNITS);
      const result = zxcvbn.check(prefix, [...userInputs]);
      const wholeIsScored = prefix.length === normalizedPassword.length;
      const common = commonPasswords.has(normalizedPassword.toLowerCase()) || (wholeIsScored && isSoleCommonMatch(result, prefix.length));
      return { score: result.score, common, feedback: feedbackOf(result) };
    },
  };
}
