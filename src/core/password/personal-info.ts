// Personal information in a password (NIST SP 800-63B rev 4 §3.1.1.2: refuse "context-
// specific words, such as the name of the service, the username"). The email and the name
// are what an attacker targeting this account knows first.
import { codePointLength, normalizePassword } from './normalize.ts';

export interface PersonalContext {
  readonly email?: string | undefined;
  readonly name?: string | null | undefined;
}

// The brief floor: the whole email, its local part and the whole name count from 3
// characters. Single parts of a name or of a local part ("alice" in "Alice Smith" or in
// "alice.smith@…") count from 4, because 3-letter parts ("ann", "bob") occur inside too
// many unrelated words to refuse on their own; zxcvbn still weighs them as user inputs.
const MIN_WHOLE = 3;
const MIN_PART = 4;

function fold(text: string): string {
  return normalizePassword(text).trim().toLowerCase();
}

function partsOf(text: string): string[] {
  return text.split(/[\s._+\-'@]+/u).filter((part) => codePointLength(part) >= MIN_PART);
}

/** Folded words tied to this account, longest rule first; also zxcvbn's user inputs. */
export function personalWords(context: PersonalContext): string[] {
  const words: string[] = [];
  const email = fold(context.email ?? '');
  if (codePointLength(email) >= MIN_WHOLE) {
    words.push(email);
    const at = email.lastIndexOf('@');
    const local = at > 0 ? email.slice(0, at) : email;
    if (codePointLength(local) >= MIN_WHOLE) words.push(local);
    words.push(...partsOf(local));
  }
  const name = fold(context.name ?? '');
  if (codePointLength(name) >= MIN_WHOLE) {
    words.push(name, ...partsOf(name));
  }
  return [...new Set(words)];
}

export function containsPersonalInfo(normalizedPassword: string, words: readonly string[]): boolean {
  const folded = normalizedPassword.toLowerCase();
  return words.some((word) => folded.includes(word));
}
