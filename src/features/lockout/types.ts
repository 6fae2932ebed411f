// What the lockout tells its caller, the login flow.

/** Whether a password may be evaluated for this subject now. */
export type Reservation =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface FailureOutcome {
  /** True for exactly one failure per lock: the caller mails the owner and audits `auth.locked`. */
  readonly locked: boolean;
  /** The end of the lock this failure started, or null when it started none. */
  readonly lockedUntil: Date | null;
}
