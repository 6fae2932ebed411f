// One spelling per password. NFKC folds compatibility forms (full-width letters,
// ligatures, superscripts) to their plain letters, so a password typed on a phone with a
// CJK keyboard, or pasted from a document that turned "fi" into "ﬁ", still matches what
// was set on a laptop (NIST SP 800-63B rev 4 §3.1.1.2: normalize with NFKC or NFKD before
// hashing). The hasher and the policy both call this, so what the policy measured is what
// gets hashed.
//
// Lone UTF-16 surrogates survive normalization and become U+FFFD when encoded as UTF-8,
// the same way at hashing and at verification; the policy refuses them when a password
// is set (`invalid_unicode`), so no new password depends on that.
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length in Unicode code points (a lone surrogate counts as one), as NIST counts characters. */
export function codePointLength(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1) count += 1;
  return count;
}
