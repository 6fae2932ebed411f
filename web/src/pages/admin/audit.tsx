// /admin/audit: the audit trail, newest first, filtered by actor, target, action, outcome
// and time; "Verify the chain" walks every record's hash and signature on the server;
// "Export" downloads the trail as NDJSON (fetched with the API client, so the session's
// cookies and refresh apply, then saved from a Blob URL: no inline code, nothing the CSP
// refuses). Every value in an event is shown as text, details as JSON in a <pre>.
import { useId, useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { settle } from '../../api/problem.ts';
import { Field, ProblemAlert, SubmitButton, useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { useStepUp } from '../../components/step-up.tsx';
import { saveBlob } from '../../download.ts';
import { BusyButton, formatTime, Notice, usePages } from './common.tsx';
import type { AuditEvent, AuditFilters, ChainVerification } from './types.ts';

const PAGE_SIZE = 50;

interface FilterForm {
  readonly actor: string;
  readonly target: string;
  readonly action: string;
  readonly outcome: '' | 'success' | 'failure' | 'denied';
  readonly from: string;
  readonly to: string;
}

const NO_FILTERS: FilterForm = { actor: '', target: '', action: '', outcome: '', from: '', to: '' };

/** A `datetime-local` value (the admin's own time zone) as the ISO instant the API takes; undefined when empty or unreadable. */
function instant(local: string): string | undefined {
  if (local === '') return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function queryOf(form: FilterForm, cursor: string | null): AuditFilters {
  const from = instant(form.from);
  const to = instant(form.to);
  return {
    limit: PAGE_SIZE,
    ...(form.actor.trim() === '' ? {} : { actor: form.actor.trim() }),
    ...(form.target.trim() === '' ? {} : { target: form.target.trim() }),
    ...(form.action.trim() === '' ? {} : { action: form.action.trim() }),
    ...(form.outcome === '' ? {} : { outcome: form.outcome }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(cursor === null ? {} : { cursor }),
  };
}

function party(type: string | null, id: string | null): string {
  if (type === null) return 'None';
  return id === null ? type : `${type} ${id}`;
}

function EventItem(props: { readonly event: AuditEvent }): ReactNode {
  const { event } = props;
  const hasDetails = Object.keys(event.details).length > 0;
  return (
    <li className="admin-item audit-event">
      <p className="admin-item-title">
        <span className="mono">{event.action}</span> <span className={`badge outcome-${event.outcome}`}>{event.outcome}</span>
      </p>
      <dl className="details">
        <dt>When</dt>
        <dd>
          <time dateTime={event.occurred_at}>{formatTime(event.occurred_at)}</time> (#{event.seq})
        </dd>
        <dt>Actor</dt>
        <dd className="mono">{party(event.actor_type, event.actor_id)}</dd>
        <dt>Target</dt>
        <dd className="mono">{party(event.target_type, event.target_id)}</dd>
        {event.ip === null ? null : (
          <>
            <dt>Address</dt>
            <dd className="mono">{event.ip}</dd>
          </>
        )}
        {event.user_agent === null ? null : (
          <>
            <dt>Browser</dt>
            <dd>{event.user_agent}</dd>
          </>
        )}
        {event.request_id === null ? null : (
          <>
            <dt>Request</dt>
            <dd className="mono">{event.request_id}</dd>
          </>
        )}
      </dl>
      {hasDetails ? (
        <details>
          <summary>Details</summary>
          <pre className="json">{JSON.stringify(event.details, null, 2)}</pre>
        </details>
      ) : null}
    </li>
  );
}

// The reasons GET /v1/admin/audit/verify gives (src/core/audit/verify.ts).
const BREAKS: Readonly<Record<string, string>> = {
  hash_mismatch: 'the event was changed after it was written.',
  personal_data_mismatch: 'the address or user agent of the event was changed (not just removed) after it was written.',
  prev_mismatch: 'the event does not follow the one before it.',
  seq_gap: 'the event is missing.',
  unknown_key: 'the event is signed with a key the server does not know.',
  checkpoint_invalid: 'the checkpoint the trail starts from is invalid.',
};

function describeBreak(reason: string | null): string {
  return (reason === null ? undefined : BREAKS[reason]) ?? `${reason ?? 'unknown reason'}.`;
}

function VerifyChain(): ReactNode {
  const action = useAction();
  const stepUp = useStepUp();
  const [result, setResult] = useState<ChainVerification | null>(null);
  return (
    <div className="audit-tool">
      <BusyButton
        busy={action.busy}
        busyText="Verifying…"
        onClick={() => {
          setResult(null);
          void action.run(() => stepUp(() => settle(api.GET('/v1/admin/audit/verify')))).then(setResult);
        }}
      >
        Verify the chain
      </BusyButton>
      <ProblemAlert problem={action.problem} />
      {result === null ? null : result.ok ? (
        <p className="alert alert-ok" role="status">
          The chain is intact: {result.checked} event{result.checked === 1 ? '' : 's'} checked.
        </p>
      ) : (
        <div className="alert alert-error" role="alert">
          <p>
            The chain is broken at event #{result.first_broken_seq ?? '?'}: {describeBreak(result.reason)}
          </p>
          <p>
            {result.checked} event{result.checked === 1 ? '' : 's'} before it {result.checked === 1 ? 'is' : 'are'} intact. The failure is recorded in the trail and the server log.
          </p>
        </div>
      )}
    </div>
  );
}

function ExportTrail(): ReactNode {
  const action = useAction();
  const stepUp = useStepUp();
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="audit-tool">
      <BusyButton
        busy={action.busy}
        busyText="Exporting…"
        onClick={() => {
          setNotice(null);
          void action.run(() => stepUp(() => settle(api.GET('/v1/admin/audit/export', { parseAs: 'blob' })))).then(async (blob) => {
            if (blob === null) return;
            saveBlob(blob, 'audit-export.ndjson');
            // A header line, one line per event, a trailer line.
            const lines = (await blob.text()).split('\n').filter((line) => line !== '').length;
            setNotice(`Exported ${Math.max(lines - 2, 0)} events as audit-export.ndjson.`);
          });
        }}
      >
        Export
      </BusyButton>
      <ProblemAlert problem={action.problem} />
      <Notice text={notice} />
    </div>
  );
}

export function AuditPage(): ReactNode {
  const [form, setForm] = useState<FilterForm>(NO_FILTERS);
  const outcomeId = useId();
  const stepUp = useStepUp();
  const pages = usePages<AuditEvent, FilterForm>(NO_FILTERS, async (filters, cursor) => {
    const outcome = await stepUp(() => settle(api.GET('/v1/admin/audit', { params: { query: queryOf(filters, cursor) } })));
    return outcome.ok ? { ok: true, data: { items: outcome.data.events, next: outcome.data.next_cursor } } : outcome;
  });
  const events = pages.items;

  const text = (name: 'actor' | 'target' | 'action' | 'from' | 'to', label: string, extra: { hint?: string; type?: string } = {}): ReactNode => (
    <Field
      name={name}
      label={label}
      maxLength={name === 'action' ? 64 : 256}
      autoComplete="off"
      spellCheck={false}
      value={form[name]}
      onValue={(value) => {
        setForm({ ...form, [name]: value });
      }}
      problem={pages.problem}
      {...extra}
    />
  );

  const filtered = Object.values(pages.applied).some((value) => value !== '');
  return (
    <Card title="Audit trail" busy={pages.busy}>
      <div className="audit-tools">
        <VerifyChain />
        <ExportTrail />
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          pages.search(form);
        }}
      >
        <h2>Filters</h2>
        {text('actor', 'Actor', { hint: 'A user id, or "system".' })}
        {text('target', 'Target', { hint: 'A user id, session id or role name.' })}
        {text('action', 'Action', { hint: 'For example user.disabled or role.created.' })}
        <div className="field">
          <label htmlFor={outcomeId}>Outcome</label>
          <select
            id={outcomeId}
            value={form.outcome}
            onChange={(event) => {
              setForm({ ...form, outcome: event.target.value as FilterForm['outcome'] });
            }}
          >
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="denied">Denied</option>
          </select>
        </div>
        {text('from', 'From (your local time)', { type: 'datetime-local' })}
        {text('to', 'Until (your local time)', { type: 'datetime-local' })}
        <div className="button-row">
          <SubmitButton busy={pages.busy} busyText="Searching…">
            Apply filters
          </SubmitButton>
          <button
            type="button"
            className="button-secondary"
            disabled={pages.busy}
            onClick={() => {
              setForm(NO_FILTERS);
              pages.search(NO_FILTERS);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <ProblemAlert problem={pages.problem} />
      {events === null ? (
        pages.problem === null ? <p role="status">Loading events…</p> : null
      ) : (
        <>
          <p role="status" className="muted">
            {events.length === 0
              ? filtered
                ? 'No event matches these filters.'
                : 'The trail is empty.'
              : `Showing ${events.length} event${events.length === 1 ? '' : 's'}, newest first${pages.more ? ' (older ones below)' : ''}.`}
          </p>
          <ol className="admin-list" aria-label="Events">
            {events.map((event) => (
              <EventItem key={event.id} event={event} />
            ))}
          </ol>
          {pages.more ? (
            <BusyButton busy={pages.busy} busyText="Loading…" onClick={pages.loadMore}>
              Show older events
            </BusyButton>
          ) : null}
        </>
      )}
    </Card>
  );
}
