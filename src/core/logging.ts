// Structured JSON logs to stdout. Secrets are removed by key name at any depth before a
// line is written, so a careless `log.info({ body })` cannot leak a password; request
// bodies are never logged in the first place (see http/request-log.ts).
//
// `code` is both a credential (a one-time code, an OAuth authorization code) and the name
// every log line gives its error code (`invalid_request`, `ECONNREFUSED`). So it is kept at
// one precise path, the top level of a line, where the server writes error codes, and
// redacted at every other depth, where it can only have come from input (`{ body }`).
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACTED = '[redacted]';

// Compared after lowercasing and removing `-` and `_`, so `Refresh-Token`,
// `refresh_token` and `refreshToken` are one name.
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'password',
  'currentpassword',
  'newpassword',
  'passwordhash',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'secret',
  'clientsecret',
  'masterkey',
  'apikey',
  'privatekey',
  'mfatoken',
  'devicetoken',
  'recoverycode',
  'recoverycodes',
  'otpauthuri',
  'qrsvg',
]);
// Secret below the top level of a line; the top-level `code` is the line's error code.
const NESTED_SECRET_KEYS = new Set(['code']);
const MAX_DEPTH = 12;

// Every line's keys are looked at, and almost all are the same few names the code writes:
// each answer is remembered (a bounded number of short keys, since keys can come from input).
const MAX_REMEMBERED_KEYS = 2048;
const MAX_REMEMBERED_KEY_LENGTH = 64;
const secretKeyAnswers = new Map<string, boolean>();

export function isSecretKey(key: string): boolean {
  const known = secretKeyAnswers.get(key);
  if (known !== undefined) return known;
  const secret = SECRET_KEYS.has(key.toLowerCase().replaceAll(/[-_]/g, ''));
  if (secretKeyAnswers.size < MAX_REMEMBERED_KEYS && key.length <= MAX_REMEMBERED_KEY_LENGTH) secretKeyAnswers.set(key, secret);
  return secret;
}

function isSecretAt(key: string, depth: number): boolean {
  return isSecretKey(key) || (depth > 0 && NESTED_SECRET_KEYS.has(key.toLowerCase()));
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[depth]';
  if (value instanceof Error) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item: unknown) => redactValue(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretAt(key, depth) ? REDACTED : redactValue(item, depth + 1, seen);
  }
  return out;
}

/** A copy of `value` with every secret-named key replaced, at any depth (`code` below the top). */
export function redactSecrets(value: Record<string, unknown>): Record<string, unknown> {
  return redactValue(value, 0, new WeakSet()) as Record<string, unknown>;
}

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Where lines go; stdout by default. Tests pass a capturing stream. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: redactSecrets,
      },
      serializers: {
        err: pino.stdSerializers.err,
        error: pino.stdSerializers.err,
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
