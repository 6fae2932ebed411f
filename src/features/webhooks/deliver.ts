// One HTTP attempt. Only a 2xx counts as delivered. Redirects are not followed (a
// receiver must not be able to bounce signed events to another host), the response body
// is never read (nothing a receiver sends can grow this process's memory or reach its
// logs), and the whole attempt is bounded by a timeout. Failures are reduced to short
// codes that are safe to store and log: never the URL (receivers often carry a token in
// the path) and never the response.
import { VERSION } from '../../version.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER } from './signature.ts';

export interface WebhookRequest {
  readonly url: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly body: string;
  /** The `Gatehouse-Signature` value for `body`. */
  readonly signature: string;
}

export type DeliveryOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: string }
  /** Cut short because this instance is stopping: not the receiver's fault, not counted. */
  | { readonly kind: 'abandoned' };

export interface DeliverOptions {
  readonly timeoutMs: number;
  /** Aborted when the job runner stops. */
  readonly stopSignal: AbortSignal;
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,31}$/;

// Node's fetch throws `TypeError('fetch failed')` with the system error as its cause.
function networkError(error: unknown): string {
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  const code: unknown = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  return typeof code === 'string' && ERROR_CODE.test(code) ? `network_${code}` : 'network';
}

export async function deliverWebhook(request: WebhookRequest, options: DeliverOptions): Promise<DeliveryOutcome> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `Gatehouse-Webhooks/${VERSION}`,
        [EVENT_ID_HEADER]: request.eventId,
        'gatehouse-event-type': request.eventType,
        [SIGNATURE_HEADER]: request.signature,
      },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.any([timeout, options.stopSignal]),
    });
  } catch (error) {
    if (options.stopSignal.aborted) return { kind: 'abandoned' };
    return { kind: 'failed', error: timeout.aborted ? 'timeout' : networkError(error) };
  }
  // Frees the connection without reading what the receiver sent.
  await response.body?.cancel().catch(() => undefined);
  return response.status >= 200 && response.status < 300
    ? { kind: 'delivered', status: response.status }
    : { kind: 'failed', error: `http_${response.status}` };
}
