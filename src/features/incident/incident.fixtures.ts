// For breach-notification tests: a template that passes the checks, to vary one part at a time.
export interface TemplateParts {
  readonly subject?: string;
  readonly fields?: string;
  readonly body?: string;
}

export const VALID_BODY = `Dear {{name}},

## What happened
On {{incident_date}} someone reached a database of {{organisation}}.

## What data was involved
Your email address and name.

## What we did
We closed the access and reset every session.

## What you should do
Choose a new password. Details: {{support_url}}

Questions: {{contact}}
`;

export const VALID_FIELDS = 'organisation: Example Ltd\nincident_date: 1 December 2026\nsupport_url: https://example.test/incident\ncontact: dpo@example.test';

export function templateText(parts: TemplateParts = {}): string {
  return `---\nsubject: ${parts.subject ?? 'A security incident involving your account'}\n${parts.fields ?? VALID_FIELDS}\n---\n${parts.body ?? VALID_BODY}`;
}

export function templateBytes(parts: TemplateParts = {}): Uint8Array {
  return Buffer.from(templateText(parts), 'utf8');
}
