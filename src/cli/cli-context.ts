// Who a command-line change is by, in the audit trail: the operator at the `gatehouse`
// command (actor `system:cli`), with no address or request id.
import type { RequestContext } from '../core/audit/auditor.ts';

export const CLI_ACTOR = { type: 'system', id: 'cli' } as const;
export const CLI_CONTEXT: RequestContext = { ip: null, userAgent: 'gatehouse-cli', requestId: null };
