// Loading what a page shows: the answer of a GET (null while it loads), and a reload after
// a change. An answer that comes after the page was left, or after a newer load started,
// is dropped.
import { useCallback, useEffect, useState } from 'react';
import type { Outcome } from '../../api/problem.ts';

export interface Loaded<T> {
  /** Null while the first load runs; the last answer while a reload runs. */
  readonly outcome: Outcome<T> | null;
  readonly reload: () => void;
}

export function useLoad<T>(load: () => Promise<Outcome<T>>): Loaded<T> {
  const [outcome, setOutcome] = useState<Outcome<T> | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    void load().then((answer) => {
      if (current) setOutcome(answer);
    });
    return () => {
      current = false;
    };
    // `load` is a new function each render; the version alone says when to load again.
  }, [version]);
  const reload = useCallback(() => {
    setVersion((previous) => previous + 1);
  }, []);
  return { outcome, reload };
}
