// clientDataJSON (WebAuthn §5.8.1): what the browser says about the ceremony. It is
// decoded here, bounded and typed, so the checks that follow (§7.1 steps 7-10, §7.2
// steps 11-14) can say which one failed instead of parsing a library's error message.
import type { RelyingParty } from './relying-party.ts';

export type CeremonyType = 'webauthn.create' | 'webauthn.get';

export interface ClientData {
  readonly type: string;
  readonly challenge: string;
  readonly origin: string;
  readonly crossOrigin: boolean;
  readonly topOrigin: string | null;
}

const MAX_FIELD_CHARS = 2048;

function boundedString(value: unknown): string | null {
  return typeof value === 'string' && value.length <= MAX_FIELD_CHARS ? value : null;
}

/** The decoded clientDataJSON, or null if it is not a JSON object of the right field types. */
export function decodeClientData(encoded: string): ClientData | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const fields = parsed as Readonly<Record<string, unknown>>;
  const type = boundedString(fields['type']);
  const challenge = boundedString(fields['challenge']);
  const origin = boundedString(fields['origin']);
  const crossOrigin = fields['crossOrigin'] ?? false;
  const topOrigin = fields['topOrigin'] ?? null;
  if (type === null || challenge === null || origin === null || typeof crossOrigin !== 'boolean') return null;
  if (topOrigin !== null && boundedString(topOrigin) === null) return null;
  return { type, challenge, origin, crossOrigin, topOrigin: topOrigin as string | null };
}

/**
 * `malformed` for the wrong ceremony type (an assertion posted as a registration),
 * `origin` for another origin, or for any cross-origin ceremony: Gatehouse is never
 * meant to run inside another site's iframe, where a page could frame it to harvest
 * ceremonies (§13.4.2). Null when all is well.
 */
export function checkClientData(clientData: ClientData, type: CeremonyType, rp: RelyingParty): 'malformed' | 'origin' | null {
  if (clientData.type !== type) return 'malformed';
  if (clientData.crossOrigin || clientData.topOrigin !== null) return 'origin';
  if (clientData.origin !== rp.origin) return 'origin';
  return null;
}
