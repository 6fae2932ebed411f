// Who a command-line change is by, in the audit trail: the operator at the `gatehouse`
// command (actor `system:cli`), with no address or request id. Every command that audits
// takes these, whether it lives in cli/, a feature or core.
import type { RequestContext } from './auditor.ts';

export const CLI_ACTOR = { type: 'system', id: 'cli' } as const;
export const CLI_CONTEXT: RequestContext = { ip: null, userAgent: 'gatehouse-cli', requestId: null };
