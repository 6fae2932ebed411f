// Password hashing: Argon2id for every new hash, with OWASP's minimum parameters by
// default (m=19 MiB, t=2, p=1; OWASP Password Storage Cheat Sheet), stored as a PHC string.
// bcrypt hashes imported from the legacy system still verify, and always ask for a rehash.
//
// verify never throws: a malformed, unknown or out-of-bounds stored hash is simply
// {ok: false}, so no caller can turn a corrupted row into a 500 or an error message that
// tells an attacker what was stored.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { deriveArgon2id } from './argon2id.ts';
import { defaultHashSlots, limitConcurrency } from './hash-slots.ts';
import { compareBcrypt, isBcryptHash, parseBcryptCost } from './bcrypt-legacy.ts';
import { normalizePassword } from './normalize.ts';
import { formatArgon2idHash, isAcceptableCost, parseArgon2idHash, type Argon2Cost, type Argon2idHash } from './phc.ts';

export { normalizePassword } from './normalize.ts';
export type { Argon2Cost } from './phc.ts';

export const DEFAULT_ARGON2_COST: Argon2Cost = { memoryKiB: 19_456, passes: 2, parallelism: 1 };

const SALT_BYTES = 16;
const TAG_BYTES = 32;
// An upper bound on the password itself, in UTF-16 code units before normalization, so a
// multi-megabyte "password" in a login request costs neither normalization nor hashing.
// It is far above any length the policy accepts (256 code points by default).
export const MAX_PASSWORD_INPUT_LENGTH = 4096;

export interface PasswordVerification {
  readonly ok: boolean;
  /** True when the password verified but the stored hash should be replaced by hash(password). */
  readonly needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<PasswordVerification>;
  /**
   * Costs what verify costs for a stored Argon2id hash with the current parameters, and
   * never succeeds. Call it when there is no account, so an unknown email takes as long as
   * a wrong password (account enumeration by timing). Accounts still on an imported bcrypt
   * hash, or on older Argon2 parameters, take a different time until they are rehashed.
   */
  dummyVerify(password: string): Promise<void>;
  /** Argon2id computations this hasher runs at once (hash-slots.ts). */
  readonly concurrency: number;
}

export type PasswordHasherOptions = Partial<Argon2Cost> & {
  /** Argon2id computations at once, the rest queue (hash-slots.ts); one per core by default. */
  readonly concurrency?: number;
};

/** The two computations, replaceable so tests can prove what is never computed. */
export interface PasswordHasherDeps {
  readonly deriveArgon2id?: typeof deriveArgon2id;
  readonly compareBcrypt?: typeof compareBcrypt;
}

type Computations = Required<PasswordHasherDeps>;

const REJECTED: PasswordVerification = { ok: false, needsRehash: false };

function sameCost(a: Argon2Cost, b: Argon2Cost): boolean {
  return a.memoryKiB === b.memoryKiB && a.passes === b.passes && a.parallelism === b.parallelism;
}

function isCurrent(parsed: Argon2idHash, cost: Argon2Cost): boolean {
  return sameCost(parsed.cost, cost) && parsed.salt.length === SALT_BYTES && parsed.tag.length === TAG_BYTES;
}

async function verifyArgon2id(stored: string, password: Buffer, cost: Argon2Cost, compute: Computations): Promise<PasswordVerification> {
  const parsed = parseArgon2idHash(stored);
  if (parsed === null) return REJECTED;
  const derived = await compute.deriveArgon2id(password, parsed.salt, parsed.cost, parsed.tag.length);
  if (!timingSafeEqual(derived, parsed.tag)) return REJECTED;
  return { ok: true, needsRehash: !isCurrent(parsed, cost) };
}

async function verifyAnyFormat(stored: string, password: string, cost: Argon2Cost, compute: Computations): Promise<PasswordVerification> {
  if (password.length > MAX_PASSWORD_INPUT_LENGTH) return REJECTED;
  const normalized = normalizePassword(password);
  if (stored.startsWith('$argon2id$')) return verifyArgon2id(stored, Buffer.from(normalized, 'utf8'), cost, compute);
  if (isBcryptHash(stored)) {
    if (parseBcryptCost(stored) === null) return REJECTED;
    return (await compute.compareBcrypt(normalized, stored)) ? { ok: true, needsRehash: true } : REJECTED;
  }
  return REJECTED;
}

export function createPasswordHasher(options: PasswordHasherOptions = {}, deps: PasswordHasherDeps = {}): PasswordHasher {
  const { concurrency = defaultHashSlots(), ...costOptions } = options;
  const cost: Argon2Cost = { ...DEFAULT_ARGON2_COST, ...costOptions };
  const compute: Computations = {
    deriveArgon2id: limitConcurrency(deps.deriveArgon2id ?? deriveArgon2id, concurrency),
    compareBcrypt: deps.compareBcrypt ?? compareBcrypt,
  };
  // The hasher must never write a hash that its own verify would refuse as out of bounds.
  if (!isAcceptableCost(cost)) throw new RangeError('argon2id parameters out of bounds');

  // A random salt and a random tag: verifying against it costs a full Argon2id computation
  // with the current parameters, and no password can match (2^-256).
  const dummyStored = formatArgon2idHash({ cost, salt: randomBytes(SALT_BYTES), tag: randomBytes(TAG_BYTES) });

  const verify = async (stored: string, password: string): Promise<PasswordVerification> => {
    try {
      return await verifyAnyFormat(stored, password, cost, compute);
    } catch {
      return REJECTED;
    }
  };

  return {
    async hash(password) {
      if (password.length > MAX_PASSWORD_INPUT_LENGTH) throw new RangeError('password too long to hash');
      const salt = randomBytes(SALT_BYTES);
      const tag = await compute.deriveArgon2id(Buffer.from(normalizePassword(password), 'utf8'), salt, cost, TAG_BYTES);
      return formatArgon2idHash({ cost, salt, tag });
    },
    verify,
    async dummyVerify(password) {
      await verify(dummyStored, password);
    },
    concurrency,
  };
}
