// The relying party (WebAuthn §5.1.2, §13.4.9) is derived from PUBLIC_URL alone, so the
// origin browsers put in clientDataJSON and the RP ID whose hash authenticators put in
// authenticatorData are exactly the ones users reach the server at. A request header
// (Host, Origin) never chooses them: that would let a phishing site name itself.
export interface RelyingParty {
  /** The RP ID: PUBLIC_URL's host name, without port (§5.1.2 "RP ID"). */
  readonly id: string;
  /** The only origin accepted in clientDataJSON: PUBLIC_URL's scheme, host and port. */
  readonly origin: string;
  /** Shown by authenticators beside the account name. */
  readonly name: string;
}

/**
 * The relying party of a server reached at `publicURL`. Browsers accept an RP ID only on
 * https, or on http for `localhost`; an IP address is never a valid RP ID, so passkeys
 * need PUBLIC_URL to name a host.
 */
export function relyingPartyFrom(publicURL: string, name = 'Gatehouse'): RelyingParty {
  const url = new URL(publicURL);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError('PUBLIC_URL must be an http(s) URL');
  return { id: url.hostname, origin: url.origin, name };
}
