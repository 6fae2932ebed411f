// COSE algorithms (RFC 9053) offered and accepted for passkey keys, in order of
// preference: Ed25519, ES256 (P-256, what nearly every authenticator has), and RS256
// only because Windows Hello keys in older TPMs have nothing else. The same list is
// offered at registration and enforced when verifying it, so a client cannot register
// a key of an algorithm that was not offered.
export const COSE_EDDSA = -8;
export const COSE_ES256 = -7;
export const COSE_RS256 = -257;
export const SUPPORTED_ALGORITHM_IDS: readonly number[] = [COSE_EDDSA, COSE_ES256, COSE_RS256];
