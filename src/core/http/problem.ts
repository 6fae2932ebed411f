// The schema every error response is serialized through, and route response helpers that
// attach it, so an error can only ever carry the problem fields and nothing else.
import { Type, type TSchema } from 'typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ maxLength: 200 }),
    title: Type.String({ maxLength: 200 }),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    code: Type.String({ maxLength: 64 }),
    request_id: Type.String({ maxLength: 128 }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({ field: Type.String({ maxLength: 200 }), rule: Type.String({ maxLength: 64 }) }),
        { maxItems: 20 },
      ),
    ),
    suggestions: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 10 })),
  },
  { additionalProperties: false, description: 'RFC 9457 problem details' },
);

/** Response schemas for a route: its success bodies plus the shared problem shape. */
export function responses<T extends Record<number, TSchema>>(
  success: T,
): T & { '4xx': typeof ProblemSchema; '5xx': typeof ProblemSchema } {
  return { ...success, '4xx': ProblemSchema, '5xx': ProblemSchema };
}
