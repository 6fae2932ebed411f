// The second-factor proof of a request body: exactly one of `code` (TOTP), `recovery_code`
// and `passkey`. More than one is refused rather than tried in turn, which would give a
// guesser several tries for one attempt.
import { AppError } from '../../core/errors.ts';
import type { SecondFactorProof } from './second-factor.ts';

export interface ProofFields {
  readonly code?: string | undefined;
  readonly recovery_code?: string | undefined;
  readonly passkey?: unknown;
}

/** The one proof in `body`, or null when there is none; 400 when there are several. */
export function proofOf(body: ProofFields): SecondFactorProof | null {
  const proofs: SecondFactorProof[] = [];
  if (body.code !== undefined) proofs.push({ method: 'totp', code: body.code });
  if (body.recovery_code !== undefined) proofs.push({ method: 'recovery_code', code: body.recovery_code });
  if (body.passkey !== undefined) proofs.push({ method: 'passkey', response: body.passkey });
  if (proofs.length > 1) {
    throw new AppError('invalid_request', { detail: 'several second-factor proofs', fields: [{ field: '/body', rule: 'one of code, recovery_code, passkey' }] });
  }
  return proofs[0] ?? null;
}

export function requireProof(body: ProofFields): SecondFactorProof {
  const proof = proofOf(body);
  if (proof === null) throw new AppError('invalid_request', { detail: 'no second-factor proof', fields: [{ field: '/body', rule: 'one of code, recovery_code, passkey' }] });
  return proof;
}
