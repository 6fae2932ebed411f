// A small JSON client for end-to-end tests over real HTTP.
import { randomBytes } from 'node:crypto';
export interface JSONResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json(): T;
}

export interface Client {
  request<T = Record<string, unknown>>(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<JSONResponse<T>>;
}

export function httpClient(baseURL: string): Client {
  return {
    async request<T>(method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
      const response = await fetch(`${baseURL}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as T };
    },
  };
}

/** The one-time token of the latest mail to `to` whose subject matches. */
export function tokenFromMail(mails: readonly { to: string; subject: string; text: string }[], to: string, subject: RegExp): string {
  const mail = mails.filter((candidate) => candidate.to === to && subject.test(candidate.subject)).at(-1);
  const found = mail === undefined ? undefined : /#token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (found === undefined) throw new Error(`no mail to ${to} matching ${String(subject)}`);
  return found;
}

let counter = 0;
/** A fresh address per call, so tests sharing a database never collide. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}.${process.pid}.${Date.now()}.${counter}@example.test`;
}

/**
 * A password that passes the policy, different every call. Letters only: random hex
 * digits could now and then contain a number from the test's email (the process id,
 * a counter), which the policy rightly refuses as personal information.
 */
export function strongPassword(): string {
  const letters = [...randomBytes(12)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('');
  return `correct horse ${letters} battery staple`;
}
