// Request ids: a well-formed inbound X-Request-Id is kept so a trace can cross a proxy;
// anything else is replaced, since the id is copied into every log line and error.
import type { IncomingMessage } from 'node:http';
import { uuidv7 } from '../crypto/ids.ts';

export const REQUEST_ID_HEADER = 'x-request-id';
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFor(raw: IncomingMessage): string {
  const inbound = raw.headers[REQUEST_ID_HEADER];
  return typeof inbound === 'string' && VALID_REQUEST_ID.test(inbound) ? inbound : uuidv7();
}
