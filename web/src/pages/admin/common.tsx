// Pieces every admin page uses: loading an answer once, the "no permission" state, an
// inline confirmation for destructive actions, a status line after an action, and the
// console's own navigation.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { describeProblem } from '../../api/messages.ts';
import type { Outcome, Problem } from '../../api/problem.ts';
import { useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import type { Access } from '../../permissions.ts';
import { Link } from '../../router.tsx';
import { sectionsFor } from './sections.ts';

export interface Loaded<T> {
  /** Null while the first answer is awaited. */
  readonly outcome: Outcome<T> | null;
  /** Replaces the data with a newer answer (a change's own answer, say). */
  readonly replace: (data: T) => void;
  readonly reload: () => void;
}

/** Runs `load` on mount and on `reload()`; an answer that arrives after a newer request started is dropped. */
export function useLoaded<T>(load: () => Promise<Outcome<T>>): Loaded<T> {
  const [outcome, setOutcome] = useState<Outcome<T> | null>(null);
  const [round, setRound] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let current = true;
    void loader.current().then((answer) => {
      if (current) setOutcome(answer);
    });
    return () => {
      current = false;
    };
  }, [round]);
  return {
    outcome,
    replace: (data) => {
      setOutcome({ ok: true, data });
    },
    reload: () => {
      setRound((value) => value + 1);
    },
  };
}

export interface Pages<Item, Filters> {
  /** Null until the first page arrives. */
  readonly items: readonly Item[] | null;
  /** The filters of the pages shown. */
  readonly applied: Filters;
  /** Whether more pages follow. */
  readonly more: boolean;
  readonly busy: boolean;
  readonly problem: Problem | null;
  /** Shows the first page for these filters. */
  readonly search: (filters: Filters) => void;
  /** Adds the next page below. */
  readonly loadMore: () => void;
}

/** A list read a page at a time with an opaque cursor (users, audit events); the first page on mount. */
export function usePages<Item, Filters>(
  initial: Filters,
  fetchPage: (filters: Filters, cursor: string | null) => Promise<Outcome<{ readonly items: readonly Item[]; readonly next: string | null }>>,
): Pages<Item, Filters> {
  const [applied, setApplied] = useState(initial);
  const [items, setItems] = useState<readonly Item[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const action = useAction();
  const load = (filters: Filters, cursor: string | null): void => {
    void action.run(() => fetchPage(filters, cursor)).then((page) => {
      if (page === null) return;
      setApplied(filters);
      setItems((shown) => (cursor === null || shown === null ? page.items : [...shown, ...page.items]));
      setNext(page.next);
    });
  };
  const first = useRef(() => {
    load(initial, null);
  });
  useEffect(() => {
    first.current();
  }, []);
  return {
    items,
    applied,
    more: next !== null,
    busy: action.busy,
    problem: action.problem,
    search: (filters) => {
      load(filters, null);
    },
    loadMore: () => {
      if (next !== null) load(applied, next);
    },
  };
}

export function LoadFailed(props: { readonly outcome: Outcome<unknown> }): ReactNode {
  if (props.outcome.ok) return null;
  return (
    <div className="alert alert-error" role="alert">
      <p>{describeProblem(props.outcome.problem)}</p>
    </div>
  );
}

export function NoPermission(props: { readonly title: string; readonly what: string }): ReactNode {
  return (
    <Card title={props.title}>
      <div className="alert alert-error" role="alert">
        <p>You do not have permission to {props.what}.</p>
      </div>
      <p>Ask an administrator if you need it.</p>
    </Card>
  );
}

/** What the last action did, announced to screen readers. */
export function Notice(props: { readonly text: string | null }): ReactNode {
  return (
    <p className="notice" role="status">
      {props.text}
    </p>
  );
}

/** A secondary action's button: disabled, and saying so, while its call runs. */
export function BusyButton(props: { readonly busy: boolean; readonly busyText: string; readonly onClick: () => void; readonly children: ReactNode }): ReactNode {
  return (
    <button type="button" className="button-secondary" disabled={props.busy} aria-busy={props.busy} onClick={props.onClick}>
      {props.busy ? props.busyText : props.children}
    </button>
  );
}

/** The sections the user may open; the current one marked. */
export function AdminNav(props: { readonly access: Access; readonly path: string }): ReactNode {
  const sections = sectionsFor(props.access);
  if (sections.length === 0) return null;
  return (
    <nav className="admin-nav" aria-label="Administration">
      <Link to="/admin" current={props.path === '/admin'}>
        Overview
      </Link>
      {sections.map((section) => (
        <Link key={section.path} to={section.path} current={props.path === section.path || props.path.startsWith(`${section.path}/`)}>
          {section.title}
        </Link>
      ))}
    </nav>
  );
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
