// What second factors an account has, in one round trip. A TOTP enrolment counts once
// confirmed; recovery codes count only beside a real factor (they are its backup, and go
// when the last factor goes).
import type { DB } from '../../core/db/database.ts';

export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery_code';

export interface EnrolledFactors {
  readonly totp: { readonly confirmedAt: Date } | null;
  readonly passkeys: number;
  readonly recoveryCodes: number;
}

export async function enrolledFactors(db: DB, userId: string): Promise<EnrolledFactors> {
  const row = await db
    .selectNoFrom((eb) => [
      eb.selectFrom('mfa_totp').select('confirmed_at').where('user_id', '=', userId).as('totp_confirmed_at'),
      eb
        .selectFrom('mfa_recovery_codes')
        .select((inner) => inner.fn.countAll<string>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .as('recovery_codes'),
      eb
        .selectFrom('passkeys')
        .select((inner) => inner.fn.countAll<string>().as('n'))
        .where('user_id', '=', userId)
        .as('passkeys'),
    ])
    .executeTakeFirstOrThrow();
  const confirmedAt = row.totp_confirmed_at;
  return {
    totp: confirmedAt === null ? null : { confirmedAt: new Date(confirmedAt) },
    passkeys: Number(row.passkeys ?? 0),
    recoveryCodes: Number(row.recovery_codes ?? 0),
  };
}

/** The methods a login's second step may use, strongest first; empty: no second factor. */
export function secondFactorMethods(factors: EnrolledFactors): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (factors.passkeys > 0) methods.push('passkey');
  if (factors.totp !== null) methods.push('totp');
  if (methods.length > 0 && factors.recoveryCodes > 0) methods.push('recovery_code');
  return methods;
}

export function hasSecondFactor(factors: EnrolledFactors): boolean {
  return factors.totp !== null || factors.passkeys > 0;
}
