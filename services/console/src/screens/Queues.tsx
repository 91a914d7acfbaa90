import type { DeadLetter, PlatformAdminClient, QueueKind } from '@platform/sdk';
import { useState } from 'react';
import { type ShownError, showError } from '../api.js';
import { Confirm, Empty, ErrorBox, formatTime, Show, useLoad } from '../ui.js';

function DeadLetters({
  client,
  queue,
  onChange,
}: {
  client: PlatformAdminClient;
  queue: QueueKind;
  onChange: () => void;
}) {
  const letters = useLoad(() => client.queues.deadLetters(queue, { limit: 100 }), [client, queue], 5000);
  const [error, setError] = useState<ShownError>();
  const [discarding, setDiscarding] = useState<DeadLetter>();
  const act = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(showError(err));
    }
    letters.reload();
    onChange();
  };
  return (
    <section className="card wide" aria-labelledby={`dead-${queue}`}>
      <h2 id={`dead-${queue}`}>Dead letters of {queue}</h2>
      {error && <ErrorBox error={error} />}
      <Show loaded={letters} what="dead letters">
        {(list) =>
          list.data.length === 0 ? (
            <Empty>No dead letters.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Dead letters of {queue}</caption>
                <thead>
                  <tr>
                    <th scope="col">Task</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Tenant</th>
                    <th scope="col">When</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.map((d) => (
                    <tr key={d.id} data-dead-letter={d.id}>
                      <td>
                        <code>{d.task ?? 'not a task message'}</code>
                        <div className="muted small">{d.task_id}</div>
                      </td>
                      <td>
                        {d.reason}
                        {d.error && <div className="invalid small">{d.error}</div>}
                      </td>
                      <td>
                        {d.tenant_id ? (
                          <a href={`#/tenants/${d.tenant_id}`}>{d.tenant_id.slice(0, 8)}</a>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>{formatTime(d.dead_lettered_at)}</td>
                      <td className="row-actions">
                        {d.requeueable && (
                          <button
                            type="button"
                            onClick={() => act(() => client.queues.requeue(queue, d.id))}
                            aria-label={`Requeue ${d.task ?? 'message'} ${d.task_id ?? d.id}`}
                          >
                            Requeue
                          </button>
                        )}
                        <button
                          type="button"
                          className="danger"
                          onClick={() => setDiscarding(d)}
                          aria-label={`Discard ${d.task ?? 'message'} ${d.task_id ?? d.id}`}
                        >
                          Discard
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {list.total > list.data.length && (
                <p className="muted">
                  Showing the newest {list.data.length} of {list.total}.
                </p>
              )}
            </div>
          )
        }
      </Show>
      {discarding && (
        <Confirm
          title="Discard this dead letter?"
          confirmLabel="Discard"
          onCancel={() => setDiscarding(undefined)}
          onConfirm={() => {
            const d = discarding;
            setDiscarding(undefined);
            void act(() => client.queues.discard(queue, d.id));
          }}
        >
          <p>
            The message <code>{discarding.task ?? discarding.id}</code> is deleted for good; it will not run.
          </p>
        </Confirm>
      )}
    </section>
  );
}

export function QueuesScreen({ client }: { client: PlatformAdminClient }) {
  const queues = useLoad(() => client.queues.list(), [client], 3000);
  return (
    <section aria-labelledby="queues-title">
      <h1 id="queues-title">Queues</h1>
      <Show loaded={queues} what="queues">
        {(list) => (
          <>
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Queues</caption>
                <thead>
                  <tr>
                    <th scope="col">Queue</th>
                    <th scope="col">Redis name</th>
                    <th scope="col">Waiting</th>
                    <th scope="col">Dead letters</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((q) => (
                    <tr key={q.kind} data-queue={q.kind}>
                      <td>{q.kind}</td>
                      <td>
                        <code>{q.name}</code>
                      </td>
                      <td className="num">{q.depth}</td>
                      <td className="num">{q.dead_letters}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="grid">
              {list.map((q) => (
                <DeadLetters key={q.kind} client={client} queue={q.kind} onChange={queues.reload} />
              ))}
            </div>
          </>
        )}
      </Show>
    </section>
  );
}
