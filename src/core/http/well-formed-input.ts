// Every string a request carries must be well-formed Unicode. JSON may spell a lone
// surrogate (`"\ud800"`), which is no character at all: the schemas accept it (a string is
// a string), and then whatever stores it fails (encryption refuses it, PostgreSQL text
// would replace it), as a 500 or worse, a 202 for an account never created. So it is
// refused here, once for every route and every part of the input, as a 400 that names the
// field in the validation error format.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type FieldProblem } from '../errors.ts';

const PARTS = ['body', 'querystring', 'params', 'headers'] as const;
const MAX_FIELD_LENGTH = 200;

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function partOf(request: FastifyRequest, part: (typeof PARTS)[number]): unknown {
  return part === 'querystring' ? request.query : request[part];
}

// A value still to look at, and how it was reached. The pointer is spelled only for the
// value that fails: every request has its headers walked, and building a pointer for each
// of them was most of this check's cost.
interface Visit {
  readonly value: unknown;
  readonly parent: Visit | null;
  readonly step: string;
}

function pointerOf(visit: Visit, root: string): string {
  const steps: string[] = [];
  for (let at: Visit = visit; at.parent !== null; at = at.parent) steps.push(escapePointer(at.step));
  return steps.length === 0 ? root : `${root}/${steps.reverse().join('/')}`;
}

/**
 * The JSON pointer of the first ill-formed string in `value` (a key or a value), or null.
 * Iterative, so a deeply nested body cannot exhaust the stack. An ill-formed key is
 * reported at its parent, so not even a field name that is no text is echoed.
 */
export function findIllFormed(value: unknown, root: string): string | null {
  const stack: Visit[] = [{ value, parent: null, step: '' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const item = next.value;
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return pointerOf(next, root);
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) stack.push({ value: item[i] as unknown, parent: next, step: String(i) });
    } else if (typeof item === 'object' && item !== null) {
      const keys = Object.keys(item);
      if (keys.some((key) => !key.isWellFormed())) return pointerOf(next, root);
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i] ?? '';
        stack.push({ value: (item as Record<string, unknown>)[key], parent: next, step: key });
      }
    }
  }
  return null;
}

export function registerWellFormedInput(app: FastifyInstance): void {
  // preValidation: after the body is parsed, before the schema (and anything after it) sees it.
  app.addHook('preValidation', async (request) => {
    for (const part of PARTS) {
      const pointer = findIllFormed(partOf(request, part), `/${part}`);
      if (pointer !== null) {
        const field: FieldProblem = { field: pointer.slice(0, MAX_FIELD_LENGTH), rule: 'unicode' };
        throw new AppError('invalid_request', { detail: 'ill-formed Unicode in the input', fields: [field] });
      }
    }
  });
}
