// Payloads that hold a secret (a mail: its recipient and a one-time link) are stored
// sealed: AES-256-GCM under a system key, with the table, the job's kind and its row id
// as associated data, so a sealed payload copied to another job, or relabelled as
// another kind, fails to open. Field encryption's format and checks, under a key the
// server owns rather than a user's data key.
import { decryptField, encryptField, type FieldContext } from '../crypto/envelope.ts';

/** The system key (`system_keys`) that seals job payloads. */
export const JOB_PAYLOAD_KEY_PURPOSE = 'job-payload';

export interface JobIdentity {
  readonly id: string;
  readonly kind: string;
}

function contextOf(job: JobIdentity): FieldContext {
  return { table: 'jobs', column: `payload:${job.kind}`, rowId: job.id };
}

export function sealJobPayload(key: Buffer, job: JobIdentity, plaintext: string): string {
  return encryptField(key, contextOf(job), plaintext);
}

/** Throws `CryptoError` unless the payload was sealed for this very job. */
export function openJobPayload(key: Buffer, job: JobIdentity, sealed: string): string {
  return decryptField(key, contextOf(job), sealed);
}
