import { DeadLetters, KombuRedisTransport } from '@platform/celery';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  tasks: Counter<'task' | 'state'>;
  duration: Histogram<'task'>;
  inFlight: Gauge;
  held: Gauge;
  redelivered: Counter;
  /** Deliveries per batch of a task with a batch handler. */
  batchSize?: Histogram<'task'>;
}

/** Gauges read when scraped: the outbox backlog, from the relay's database. */
export interface OutboxGaugeSource {
  backlog(): Promise<{ pending: number; oldestSeconds: number }>;
}

/** Prometheus metrics: tasks by state, task latency, in-flight and held tasks, queue depth. */
export function createWorkerMetrics(
  redis: Redis,
  queues: string[],
  outbox?: OutboxGaugeSource,
): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const transport = new KombuRedisTransport(redis);
  new Gauge({
    name: 'worker_queue_depth',
    help: 'Messages waiting per queue (all priorities)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const queue of queues) this.set({ queue }, await transport.depth(queue));
    },
  });
  const deadLetters = new DeadLetters(redis);
  new Gauge({
    name: 'worker_dead_letters',
    help: 'Entries in the dead-letter list of each queue (<queue>.dead, bounded by DEAD_LETTER_MAX_LENGTH)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const queue of queues) this.set({ queue }, await deadLetters.length(queue));
    },
  });
  // Counted in Redis by whichever consumer pushed, so the value is the same on every replica.
  new Counter({
    name: 'worker_dead_letters_dropped_total',
    help: 'Dead letters dropped, oldest first, because their list held DEAD_LETTER_MAX_LENGTH entries',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const queue of queues) this.inc({ queue }, await deadLetters.dropped(queue));
    },
  });
  if (outbox) {
    new Gauge({
      name: 'outbox_backlog',
      help: 'Outbox entries not yet published to Redis',
      registers: [registry],
      async collect() {
        this.set((await outbox.backlog()).pending);
      },
    });
    new Gauge({
      name: 'outbox_oldest_seconds',
      help: 'Age of the oldest outbox entry not yet published',
      registers: [registry],
      async collect() {
        this.set((await outbox.backlog()).oldestSeconds);
      },
    });
  }
  return {
    registry,
    tasks: new Counter({
      name: 'worker_tasks_total',
      help: 'Tasks by name and outcome state (SUCCESS, FAILURE, RETRY, REVOKED, DEAD_LETTER)',
      labelNames: ['task', 'state'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'worker_task_duration_seconds',
      help: 'Task run time by name',
      labelNames: ['task'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: 'worker_tasks_in_flight', help: 'Tasks running now', registers: [registry] }),
    held: new Gauge({
      name: 'worker_tasks_held',
      help: 'Tasks waiting for their eta',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'worker_batch_size',
      help: 'Deliveries run together in one batch, by task name',
      labelNames: ['task'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    redelivered: new Counter({
      name: 'worker_redelivered_total',
      help: 'Deliveries of dead workers (expired heartbeat) put back on their queue',
      registers: [registry],
    }),
  };
}
