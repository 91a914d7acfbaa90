import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import { type ShownError, showError } from './api.js';

/** The state of a load: loading, its value, or its error; `reload` runs it again. */
export interface Loaded<T> {
  data: T | undefined;
  error: ShownError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now, when `deps` change and, with `pollMs`, again every `pollMs` while shown. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ShownError>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (!live) return;
        setError(showError(err));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (!pollMs) return;
    const timer = setInterval(reload, pollMs);
    return () => clearInterval(timer);
  }, [pollMs, reload]);
  return { data, error, loading, reload };
}

export function ErrorBox({ error, onRetry }: { error: ShownError; onRetry?: () => void }) {
  return (
    <div className="error" role="alert">
      <p>
        <strong>{error.status ? `Error ${error.status}` : 'Error'}:</strong> {error.message}
      </p>
      {error.fields && error.fields.length > 0 && (
        <ul>
          {error.fields.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code> {f.message}
            </li>
          ))}
        </ul>
      )}
      {error.requestId && (
        <p className="muted">
          Request id: <code>{error.requestId}</code>
        </p>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Shows `loaded`'s loading and error states, else `children(data)`. */
export function Show<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (loaded.error && loaded.data === undefined)
    return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;
  if (loaded.data === undefined) return <Loading what={what} />;
  return (
    <>
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {children(loaded.data)}
    </>
  );
}

/** A modal confirmation (the native dialog: focus is trapped and Escape cancels). */
export function Confirm({
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={onCancel} className="dialog">
      <h2 id={titleId}>{title}</h2>
      {children}
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

export function formatTime(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').slice(0, 19);
}

/** A bar chart of one series per day against a limit (SVG, no styles inline). */
export function BarChart({
  title,
  days,
  limit,
}: {
  title: string;
  days: Array<{ day: string; value: number }>;
  limit: number | null;
}) {
  const max = Math.max(1, limit ?? 0, ...days.map((d) => d.value));
  const width = 300;
  const height = 100;
  const bar = days.length > 0 ? width / days.length : width;
  const total = days.reduce((a, d) => a + d.value, 0);
  return (
    <figure className="chart">
      <figcaption>
        {title}: {total} in {days.length} days{limit !== null ? `, limit ${limit} a day` : ''}
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title} per day`}
        preserveAspectRatio="none"
      >
        {days.map((d, i) => {
          const h = (d.value / max) * height;
          return (
            <rect
              key={d.day}
              x={i * bar + 1}
              y={height - h}
              width={Math.max(1, bar - 2)}
              height={h}
              className="bar"
            >
              <title>
                {d.day}: {d.value}
              </title>
            </rect>
          );
        })}
        {limit !== null && (
          <line
            x1={0}
            x2={width}
            y1={height - (limit / max) * height}
            y2={height - (limit / max) * height}
            className="limit"
          />
        )}
      </svg>
    </figure>
  );
}
