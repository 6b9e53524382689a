/**
 * The one way a console page loads what it shows: GET a path, keep the last good answer, and turn a failure into
 * the operator's text in the current language. `reload()` re-reads (after an action, or on a timer); a change of
 * path or language reloads by itself. A late answer of a superseded load is dropped, so a slow first read
 * cannot overwrite a newer one.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from './api.ts';
import { useT } from './i18n.ts';

export interface ApiLoad<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload(): Promise<void>;
}

/**
 * `refreshMs` re-reads on a timer; a change of `refreshKey` re-reads at once (a page bumps it after an action that
 * changes what this load shows, including loads in child components).
 */
export function useApiLoad<T>(path: string, o: { refreshMs?: number; refreshKey?: number } = {}): ApiLoad<T> {
  const { lang } = useT();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const latest = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const r = await api<T>('GET', path);
      if (mine !== latest.current) return;
      setData(r);
      setError(null);
    } catch (e) {
      if (mine !== latest.current) return;
      setError(e instanceof ApiError ? e.text(lang) : String(e));
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }, [path, lang]);

  useEffect(() => {
    void reload();
    if (!o.refreshMs) return;
    const timer = setInterval(() => void reload(), o.refreshMs);
    return () => clearInterval(timer);
  }, [reload, o.refreshMs, o.refreshKey]);

  return { data, error, loading, reload };
}
