// Request and response shapes of the audit trail routes. Query strings are closed
// (unknown parameters are a 400) and every value is bounded.
import { Type } from 'typebox';

const strict = { additionalProperties: false } as const;
const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const Outcome = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]);
const Cursor = Type.String({ minLength: 1, maxLength: 24, pattern: '^[A-Za-z0-9_-]+$' });
const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });
// The vocabulary the code records (core/audit/prepare.ts): a free-text filter is refused.
const Action = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_.:-]{0,63}$' });
// No control characters: PostgreSQL refuses NUL in text (a 500), and no stored id holds one.
const Identifier = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });

export const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Identifier),
    target: Type.Optional(Identifier),
    action: Type.Optional(Action),
    outcome: Type.Optional(Outcome),
    from: Type.Optional(Type.String({ format: 'date-time', maxLength: 40 })),
    to: Type.Optional(Type.String({ format: 'date-time', maxLength: 40 })),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  strict,
);

export const PageQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, strict);

export const ExportQuery = Type.Object({ from_seq: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })) }, strict);

/** A stored record with every column, chain fields included. */
export const AuditEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    id: Type.String({ format: 'uuid' }),
    occurred_at: Type.String({ format: 'date-time' }),
    actor_type: Type.String({ maxLength: 64 }),
    actor_id: nullable(Type.String({ maxLength: 256 })),
    action: Type.String({ maxLength: 64 }),
    target_type: nullable(Type.String({ maxLength: 64 })),
    target_id: nullable(Type.String({ maxLength: 256 })),
    outcome: Outcome,
    ip: nullable(Type.String({ maxLength: 64 })),
    user_agent: nullable(Type.String({ maxLength: 512 })),
    request_id: nullable(Type.String({ maxLength: 128 })),
    details: Type.Record(Type.String(), Type.Unknown()),
    key_id: Type.String({ maxLength: 128 }),
    prev_hash: Type.String({ maxLength: 64 }),
    hash: Type.String({ maxLength: 64 }),
  },
  strict,
);

export const AuditPage = Type.Object(
  { events: Type.Array(AuditEvent, { maxItems: 200 }), next_cursor: nullable(Type.String({ maxLength: 24 })) },
  strict,
);

export const Verification = Type.Object(
  {
    ok: Type.Boolean(),
    checked: Type.Integer({ minimum: 0 }),
    first_broken_seq: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    reason: nullable(Type.String({ maxLength: 32 })),
  },
  strict,
);

export const NDJSON = Type.String({ description: 'application/x-ndjson: a header line, one record per line, a trailer line' });

/** Who set an event off, as the account owner may know it; never another person's identifiers. */
export const InitiatedBy = Type.Union([Type.Literal('you'), Type.Literal('another_account'), Type.Literal('system'), Type.Literal('unauthenticated')]);

export const OwnEvent = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    occurred_at: Type.String({ format: 'date-time' }),
    action: Type.String({ maxLength: 64 }),
    outcome: Outcome,
    initiated_by: InitiatedBy,
    ip: nullable(Type.String({ maxLength: 64 })),
    user_agent: nullable(Type.String({ maxLength: 512 })),
    session_id: nullable(Type.String({ maxLength: 256 })),
  },
  strict,
);

export const OwnEventPage = Type.Object(
  { events: Type.Array(OwnEvent, { maxItems: 200 }), next_cursor: nullable(Type.String({ maxLength: 24 })) },
  strict,
);
