import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  DEAD_LETTER_HEADER,
  DEFAULT_DEAD_LETTER_MAX_LENGTH,
  deadLetterList,
  decodeMessage,
  type Envelope,
  KombuRedisTransport,
  MalformedMessageError,
  queueKeys,
  RedisResultBackend,
  retryEnvelope,
  serializeError,
  type TaskMessage,
} from '@platform/celery';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { backoffMs, PermanentError, type TaskDefinition, type TaskOutcome } from './catalog.js';
import type { WorkerMetrics } from './metrics.js';

export interface WorkerOptions {
  queues: string[];
  concurrency: number;
  /** A delivery not acknowledged nor refreshed for this long is given to another consumer. */
  visibilityTimeoutSeconds: number;
  restoreIntervalMs: number;
  /** How often held deliveries are marked as alive (well under the visibility timeout). */
  touchIntervalMs: number;
  /** Messages with a future eta held in memory at most. */
  maxHeld: number;
  /** Dead-letter list of a queue. */
  deadLetterQueue: (queue: string) => string;
  /** Entries a dead-letter list keeps at most (the newest; the dropped ones are counted). */
  deadLetterMaxLength: number;
  trackStarted: boolean;
  drainTimeoutMs: number;
  /** Seconds a blocking wait lasts before the loop looks again. */
  pollSeconds: number;
  resultExpiresSeconds: number;
  /** This worker's heartbeat expires after this long unless refreshed (every third of it). */
  heartbeatTtlMs: number;
  /** How often the deliveries of workers whose heartbeat expired are looked for. */
  reapIntervalMs: number;
  /** A message running each time its worker died this many times is dead-lettered. */
  maxConsumerDeaths: number;
  /**
   * Most deliveries of a task with a batch handler run in one call (1: each runs alone). A batch
   * takes one of the `concurrency` slots.
   */
  batchSize: number;
  /** Longest a batch waits for more deliveries after its first one, in milliseconds. */
  batchWaitMs: number;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  queues: ['celery'],
  concurrency: 4,
  visibilityTimeoutSeconds: 3600,
  restoreIntervalMs: 10_000,
  touchIntervalMs: 30_000,
  maxHeld: 1000,
  deadLetterQueue: deadLetterList,
  deadLetterMaxLength: DEFAULT_DEAD_LETTER_MAX_LENGTH,
  trackStarted: false,
  drainTimeoutMs: 30_000,
  pollSeconds: 1,
  resultExpiresSeconds: 86_400,
  heartbeatTtlMs: 10_000,
  reapIntervalMs: 2_000,
  maxConsumerDeaths: 3,
  batchSize: 1,
  batchWaitMs: 2,
};

interface Delivery {
  message: TaskMessage;
  definition: TaskDefinition;
  timer?: NodeJS.Timeout;
  abort?: AbortController;
}

/** Waits for `promise`, at most `ms`. */
async function raceTimeout(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise?.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Adds why a message was dead-lettered to its headers, keeping the rest as it was. */
function deadLetter(envelope: Envelope | string, reason: string, error?: string): string {
  const base = typeof envelope === 'string' ? safeParse(envelope) : structuredClone(envelope);
  if (!base) return typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
  base.headers = {
    ...(base.headers ?? {}),
    'x-dead-letter': { reason, error, at: new Date().toISOString() },
  };
  return JSON.stringify(base);
}

function safeParse(raw: string): (Envelope & Record<string, unknown>) | undefined {
  try {
    const parsed = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Celery-compatible worker: reserves messages with late acknowledgement, honours eta and
 * expires, retries with exponential backoff (RETRY state), writes results Python's AsyncResult
 * reads, bounds concurrency, dead-letters what cannot run, restores stale deliveries, and drains
 * on stop.
 */
export class Worker {
  private readonly transport: KombuRedisTransport;
  private readonly results: RedisResultBackend;
  private readonly catalog: Map<string, TaskDefinition>;
  private readonly options: WorkerOptions;
  private readonly hostname = `node-worker@${hostname()}:${process.pid}`;
  /** This worker's identity in the consumer registry (heartbeat and held deliveries). */
  readonly consumerId = randomUUID();
  /**
   * A blocking connection per list of each queue (the queue and its priority sub-queues): a
   * message pushed onto any of them ends a wait (BLMOVE watches one list).
   */
  private readonly blocking = new Map<string, { queue: string; connection: Redis }>();
  private readonly waits = new Map<string, Promise<unknown>>();
  private readonly held = new Map<string, Delivery>();
  private readonly ready: Delivery[] = [];
  private readonly running = new Map<string, Delivery>();
  /** Batches being gathered, by task name: each holds one slot from its first delivery on. */
  private readonly collecting = new Map<string, { deliveries: Delivery[]; timer: NodeJS.Timeout }>();
  /** Slots taken: tasks running alone, batches running or being gathered. */
  private slots = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private wake: (() => void) | undefined;
  private idle: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private stopping = false;
  private queueCursor = 0;
  /** Queues whose last reserve found nothing, until their blocking wait ends. */
  private readonly emptyQueues = new Set<string>();
  /** Queues whose last delivery was of a task run in batches: reserved a batch at a time. */
  private readonly batchQueues = new Set<string>();

  constructor(
    private readonly redis: Redis,
    catalog: TaskDefinition[],
    options: Partial<WorkerOptions>,
    private readonly log: Logger,
    private readonly metrics?: WorkerMetrics,
  ) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
    this.transport = new KombuRedisTransport(
      redis,
      undefined,
      { id: this.consumerId },
      { deadLetters: { maxLength: this.options.deadLetterMaxLength } },
    );
    this.results = new RedisResultBackend(redis, { expiresSeconds: this.options.resultExpiresSeconds });
    this.catalog = new Map(catalog.map((t) => [t.name, t]));
  }

  get inFlight(): number {
    return this.running.size;
  }

  get transportForTests(): KombuRedisTransport {
    return this.transport;
  }

  async start(): Promise<void> {
    for (const queue of this.options.queues) {
      for (const list of queueKeys(queue)) {
        const connection = this.redis.duplicate({ maxRetriesPerRequest: null });
        connection.on('error', (err) =>
          this.log.warn({ err: err.message }, 'blocking redis connection error'),
        );
        this.blocking.set(list, { queue, connection });
      }
    }
    await this.beat();
    await this.reapDead();
    await this.restoreStale();
    this.timers.push(
      setInterval(() => void this.restoreStale(), this.options.restoreIntervalMs),
      setInterval(() => void this.touchHeld(), this.options.touchIntervalMs),
      setInterval(() => void this.beat(), Math.max(100, Math.floor(this.options.heartbeatTtlMs / 3))),
      setInterval(() => void this.reapDead(), this.options.reapIntervalMs),
    );
    this.loop = this.run();
    this.log.info({ queues: this.options.queues, concurrency: this.options.concurrency }, 'worker started');
  }

  /** Stops taking work, lets running tasks finish (up to the drain timeout), requeues the rest. */
  async stop(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const { connection } of this.blocking.values()) connection.disconnect();
    this.wake?.();
    // With Redis unreachable the loop may be waiting on a command that never returns, and
    // putting deliveries back is impossible: what this worker holds stays recorded in `unacked`
    // and is restored by another worker (its heartbeat expires) or by the visibility timeout.
    const redisUp = () => this.redis.status === 'ready';
    await raceTimeout(this.loop, redisUp() ? this.options.drainTimeoutMs : 1000);
    const waiting = [...this.held.values(), ...this.ready.splice(0)];
    for (const batch of this.collecting.values()) {
      clearTimeout(batch.timer);
      waiting.push(...batch.deliveries);
      this.slots--;
    }
    this.collecting.clear();
    for (const d of waiting) clearTimeout(d.timer);
    this.held.clear();
    if (redisUp()) await Promise.all(waiting.map((d) => this.transport.restore(d.message.deliveryTag)));
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.options.drainTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      for (const d of this.running.values()) {
        d.abort?.abort(new Error('worker stopping'));
        if (redisUp()) await this.transport.restore(d.message.deliveryTag);
      }
    }
    // Leaving the registry is a courtesy (an expired heartbeat says the same): never wait long for
    // a Redis that is down.
    await raceTimeout(
      this.transport.retire().catch((err) => this.log.warn({ err }, 'could not leave the registry')),
      2000,
    );
    await this.transport.close();
    this.log.info({ requeued: waiting.length }, 'worker stopped');
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const next = this.ready[0];
        if (next) {
          if (this.joinBatch(next) || this.slots < this.options.concurrency) {
            this.ready.shift();
            this.dispatch(next);
          } else {
            await this.sleepUntilWoken();
          }
          continue;
        }
        // A batch being gathered may take more deliveries even when every slot is taken.
        if (this.slots >= this.options.concurrency && this.collecting.size === 0) {
          await this.sleepUntilWoken();
          continue;
        }
        if (this.held.size >= this.options.maxHeld) {
          await this.sleepUntilWoken();
          continue;
        }
        if (!(await this.reserveSome())) await this.waitForWork();
      } catch (err) {
        if (this.stopping) break;
        this.log.error({ err }, 'worker loop error; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private batchable(delivery: Delivery): boolean {
    return this.options.batchSize > 1 && delivery.definition.batchHandler !== undefined;
  }

  /** Whether the delivery joins a batch already being gathered (no new slot needed). */
  private joinBatch(delivery: Delivery): boolean {
    return this.batchable(delivery) && this.collecting.has(delivery.definition.name);
  }

  /** Runs a delivery alone, or adds it to its task's batch (closed when full or after the wait). */
  private dispatch(delivery: Delivery): void {
    if (!this.batchable(delivery)) {
      this.slots++;
      void this.execute(delivery);
      return;
    }
    const name = delivery.definition.name;
    let batch = this.collecting.get(name);
    if (!batch) {
      this.slots++;
      batch = { deliveries: [], timer: setTimeout(() => this.closeBatch(name), this.options.batchWaitMs) };
      this.collecting.set(name, batch);
    }
    batch.deliveries.push(delivery);
    if (batch.deliveries.length >= this.options.batchSize) this.closeBatch(name);
  }

  private closeBatch(name: string): void {
    const batch = this.collecting.get(name);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.collecting.delete(name);
    void this.executeBatch(batch.deliveries);
    this.signal();
  }

  private sleepUntilWoken(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  private signal(): void {
    this.wake?.();
  }

  /** Waits for a message on any queue, or for a slot or an eta to free up, without taking it. */
  private async waitForWork(): Promise<void> {
    for (const [list, { queue, connection }] of this.blocking) {
      if (!this.waits.has(list)) {
        const wait = this.transport
          .waitForMessage(connection, list, this.options.pollSeconds)
          .catch(() => false)
          .finally(() => {
            this.waits.delete(list);
            this.emptyQueues.delete(queue);
          });
        this.waits.set(list, wait);
      }
    }
    await Promise.race([...this.waits.values(), this.sleepUntilWoken()]);
    this.wake = undefined;
  }

  /**
   * How many deliveries to reserve from `queue` in one call: a batch's worth from a queue whose
   * last delivery had a batch handler (less what batches being gathered hold already), otherwise
   * as many as there are free slots.
   */
  private reserveCount(queue: string): number {
    if (this.batchQueues.has(queue)) {
      let gathered = 0;
      for (const batch of this.collecting.values()) gathered += batch.deliveries.length;
      return Math.max(1, this.options.batchSize - gathered);
    }
    return Math.max(1, this.options.concurrency - this.slots);
  }

  private async reserveSome(): Promise<boolean> {
    const queues = this.options.queues;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[(this.queueCursor + i) % queues.length] as string;
      // A queue found empty is tried again once its blocking wait says a message came (or the
      // wait timed out), not on every wake-up of the loop: no round trip for nothing.
      if (this.emptyQueues.has(queue)) continue;
      const most = this.reserveCount(queue);
      const reserved = await this.transport.reserveMany(queue, this.options.deadLetterQueue(queue), most);
      if (reserved.length === 0) {
        this.emptyQueues.add(queue);
        continue;
      }
      // Fewer than asked for: the script emptied every list of the queue, so it is not tried again
      // until a blocking wait says a message came (one that came meanwhile makes it return at once).
      if (reserved.length < most) this.emptyQueues.add(queue);
      this.queueCursor = (this.queueCursor + i + 1) % queues.length;
      for (const delivery of reserved) {
        if (delivery.kind === 'dead') {
          this.metrics?.tasks.inc({ task: 'unknown', state: 'DEAD_LETTER' });
          this.log.error({ queue }, 'unparseable message moved to the dead-letter queue');
        } else {
          await this.accept(queue, delivery.raw);
        }
      }
      return true;
    }
    return false;
  }

  private async accept(queue: string, raw: string): Promise<void> {
    let message: TaskMessage;
    try {
      message = decodeMessage(raw);
    } catch (err) {
      const parsed = safeParse(raw);
      const tag = parsed?.properties?.delivery_tag as string;
      const reason = err instanceof MalformedMessageError ? err.message : String(err);
      await this.transport.ackAndDeadLetter(
        tag,
        this.options.deadLetterQueue(queue),
        deadLetter(raw, 'malformed', reason),
        parsed ?? null,
      );
      this.metrics?.tasks.inc({ task: 'unknown', state: 'DEAD_LETTER' });
      this.log.error({ queue, reason }, 'malformed message moved to the dead-letter queue');
      return;
    }
    const log = () => this.log.child({ task: message.task, task_id: message.id });
    const definition = this.catalog.get(message.task);
    if (definition && this.batchable({ message, definition })) this.batchQueues.add(queue);
    else this.batchQueues.delete(queue);
    if (!definition) {
      await this.results.store(
        message.id,
        'FAILURE',
        { exc_type: 'NotRegistered', exc_message: [message.task], exc_module: 'celery.exceptions' },
        { name: message.task },
      );
      await this.transport.ackAndDeadLetter(
        message.deliveryTag,
        this.options.deadLetterQueue(queue),
        deadLetter(message.envelope, 'unknown_task'),
        message.envelope,
      );
      this.metrics?.tasks.inc({ task: message.task, state: 'DEAD_LETTER' });
      log().error('unknown task moved to the dead-letter queue');
      return;
    }
    if (message.expires && message.expires.getTime() <= Date.now()) {
      await this.revokeExpired(message, log());
      return;
    }
    const delivery: Delivery = { message, definition };
    const delay = message.eta ? message.eta.getTime() - Date.now() : 0;
    if (delay > 0) {
      delivery.timer = setTimeout(() => {
        this.held.delete(message.deliveryTag);
        this.ready.push(delivery);
        this.signal();
      }, delay);
      this.held.set(message.deliveryTag, delivery);
      this.metrics?.held.set(this.held.size);
    } else {
      this.ready.push(delivery);
    }
  }

  private async revokeExpired(message: TaskMessage, log: Logger): Promise<void> {
    await this.results.store(
      message.id,
      'REVOKED',
      { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' },
      { name: message.task },
    );
    await this.transport.ack(message.deliveryTag, message.envelope);
    this.metrics?.tasks.inc({ task: message.task, state: 'REVOKED' });
    log.warn('task expired before it ran: revoked');
  }

  private async execute(delivery: Delivery): Promise<void> {
    const { message, definition } = delivery;
    const log = this.log.child({ task: message.task, task_id: message.id, retries: message.retries });
    this.running.set(message.deliveryTag, delivery);
    this.metrics?.held.set(this.held.size);
    this.metrics?.inFlight.set(this.running.size);
    const started = process.hrtime.bigint();
    const abort = new AbortController();
    delivery.abort = abort;
    const meta = {
      name: message.task,
      retries: message.retries,
      queue: message.queue,
      worker: this.hostname,
    };
    try {
      if (message.expires && message.expires.getTime() <= Date.now()) {
        await this.revokeExpired(message, log);
        return;
      }
      await this.transport.markRunning(message.deliveryTag);
      if (this.options.trackStarted) {
        await this.results.store(message.id, 'STARTED', { pid: process.pid, hostname: this.hostname }, meta);
      }
      const parsed = definition.payload.safeParse(message.kwargs);
      if (!parsed.success) {
        throw new PermanentError(
          `invalid payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      }
      const timeout = setTimeout(
        () => abort.abort(new Error(`task timed out after ${definition.timeoutMs} ms`)),
        definition.timeoutMs,
      );
      let result: unknown;
      try {
        result = await Promise.race([
          definition.handler(parsed.data, {
            taskId: message.id,
            retries: message.retries,
            signal: abort.signal,
            log,
          }),
          new Promise<never>((_, reject) =>
            abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }),
          ),
        ]);
      } finally {
        clearTimeout(timeout);
      }
      await this.results.store(message.id, 'SUCCESS', result ?? null, meta);
      await this.transport.ack(message.deliveryTag, message.envelope);
      this.metrics?.tasks.inc({ task: message.task, state: 'SUCCESS' });
      log.info({ ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'task succeeded');
    } catch (err) {
      if (this.stopping && abort.signal.aborted) return; // requeued by stop()
      await this.fail(message, definition, err, meta, log);
    } finally {
      this.metrics?.duration.observe({ task: message.task }, Number(process.hrtime.bigint() - started) / 1e9);
      this.running.delete(message.deliveryTag);
      this.release();
    }
  }

  /** Frees the slot of a task or batch that ended. */
  private release(): void {
    this.slots--;
    this.metrics?.inFlight.set(this.running.size);
    if (this.running.size === 0) for (const resolve of this.idle.splice(0)) resolve();
    this.signal();
  }

  /**
   * Runs a batch of deliveries of one task in one call of its batch handler. Every delivery keeps
   * its own life: expired ones are revoked, an invalid payload fails alone, and each outcome is
   * stored, acknowledged, retried or dead-lettered as a task running alone would be.
   */
  private async executeBatch(deliveries: Delivery[]): Promise<void> {
    const definition = deliveries[0]?.definition as TaskDefinition;
    const started = process.hrtime.bigint();
    const abort = new AbortController();
    const log = this.log.child({ task: definition.name, batch: deliveries.length });
    for (const d of deliveries) {
      d.abort = abort;
      this.running.set(d.message.deliveryTag, d);
    }
    this.metrics?.inFlight.set(this.running.size);
    this.metrics?.batchSize?.observe({ task: definition.name }, deliveries.length);
    const metaOf = (message: TaskMessage) => ({
      name: message.task,
      retries: message.retries,
      queue: message.queue,
      worker: this.hostname,
    });
    const items: Array<{ delivery: Delivery; payload: unknown }> = [];
    try {
      // Expired or invalid deliveries end on their own; the others make the batch.
      const now = Date.now();
      const early: Array<Promise<void>> = [];
      for (const delivery of deliveries) {
        const { message } = delivery;
        const taskLog = () => log.child({ task_id: message.id, retries: message.retries });
        if (message.expires && message.expires.getTime() <= now) {
          early.push(this.revokeExpired(message, taskLog()));
          continue;
        }
        const parsed = definition.payload.safeParse(message.kwargs);
        if (parsed.success) {
          items.push({ delivery, payload: parsed.data });
          continue;
        }
        const err = new PermanentError(
          `invalid payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
        early.push(this.fail(message, definition, err, metaOf(message), taskLog()));
      }
      // A delivery whose end could not be recorded (Redis failing) stays held and is restored.
      await Promise.all(
        early.map((p) =>
          p.catch((err) => log.error({ err }, 'could not end a delivery of the batch; it stays held')),
        ),
      );
      if (items.length === 0) return;
      await this.transport.markRunningMany(items.map((i) => i.delivery.message.deliveryTag));
      if (this.options.trackStarted) {
        await Promise.all(
          items.map(({ delivery: { message } }) =>
            this.results.store(
              message.id,
              'STARTED',
              { pid: process.pid, hostname: this.hostname },
              metaOf(message),
            ),
          ),
        );
      }
      const timeout = setTimeout(
        () => abort.abort(new Error(`task timed out after ${definition.timeoutMs} ms`)),
        definition.timeoutMs,
      );
      let outcomes: TaskOutcome[];
      try {
        outcomes = await Promise.race([
          (definition.batchHandler as NonNullable<TaskDefinition['batchHandler']>)(
            items.map((i) => i.payload),
            { signal: abort.signal, log },
          ),
          new Promise<never>((_, reject) =>
            abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }),
          ),
        ]);
        if (outcomes.length !== items.length)
          throw new Error(`the batch handler returned ${outcomes.length} outcomes for ${items.length} tasks`);
      } catch (err) {
        outcomes = items.map(() => ({ ok: false, error: err }));
      } finally {
        clearTimeout(timeout);
      }
      // The successes' results are stored in one script, then acknowledged in one transaction
      // (a crash between the two redelivers them: they find their stored outcome). Failures
      // retry or dead-letter one by one.
      const succeeded: Array<{ message: TaskMessage; value: unknown }> = [];
      const failed: Array<{ message: TaskMessage; error: unknown }> = [];
      items.forEach(({ delivery: { message } }, i) => {
        const outcome = outcomes[i] as TaskOutcome;
        if (outcome.ok) succeeded.push({ message, value: outcome.value });
        else failed.push({ message, error: outcome.error });
      });
      const stored = succeeded.length
        ? this.results
            .storeMany(
              succeeded.map(({ message, value }) => ({
                taskId: message.id,
                state: 'SUCCESS' as const,
                result: value ?? null,
                extra: metaOf(message),
              })),
            )
            .then(() =>
              this.transport.ackMany(
                succeeded.map(({ message }) => ({ tag: message.deliveryTag, envelope: message.envelope })),
              ),
            )
            .then(
              () => {
                const ms = Number(process.hrtime.bigint() - started) / 1e6;
                for (const { message } of succeeded) {
                  this.metrics?.tasks.inc({ task: message.task, state: 'SUCCESS' });
                  log.info({ task_id: message.id, retries: message.retries, ms }, 'task succeeded');
                }
              },
              (err) =>
                log.error(
                  { err, tasks: succeeded.length },
                  'could not record the results; the deliveries stay held',
                ),
            )
        : undefined;
      await Promise.all([
        stored,
        ...failed.map(async ({ message, error }) => {
          if (this.stopping && abort.signal.aborted) return; // requeued by stop()
          const taskLog = log.child({ task_id: message.id, retries: message.retries });
          await this.fail(message, definition, error, metaOf(message), taskLog).catch((failErr) =>
            taskLog.error({ err: failErr }, 'could not record the failure; the delivery stays held'),
          );
        }),
      ]);
    } catch (err) {
      // Redis or the batch's bookkeeping failed: what was not acknowledged stays held and is
      // restored (heartbeat, visibility timeout).
      log.error({ err }, 'batch failed');
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const d of deliveries) {
        this.metrics?.duration.observe({ task: d.message.task }, seconds);
        this.running.delete(d.message.deliveryTag);
      }
      this.release();
    }
  }

  private async fail(
    message: TaskMessage,
    definition: TaskDefinition,
    err: unknown,
    meta: { name: string; retries: number; queue: string; worker: string },
    log: Logger,
  ): Promise<void> {
    const error = serializeError(err);
    const permanent = err instanceof PermanentError;
    if (!permanent && message.retries < definition.retry.maxRetries) {
      const delay = backoffMs(definition.retry, message.retries);
      await this.results.store(message.id, 'RETRY', error, meta);
      await this.transport.ackAndPush(
        message.deliveryTag,
        message.queue,
        retryEnvelope(message, new Date(Date.now() + delay)),
        message.envelope,
      );
      this.metrics?.tasks.inc({ task: message.task, state: 'RETRY' });
      log.warn({ err: error.exc_message[0], delay_ms: delay }, 'task failed; retrying');
      return;
    }
    const traceback = err instanceof Error ? (err.stack ?? null) : null;
    await this.results.store(message.id, 'FAILURE', error, { ...meta, traceback });
    if (permanent) {
      await this.transport.ack(message.deliveryTag, message.envelope);
    } else {
      await this.transport.ackAndDeadLetter(
        message.deliveryTag,
        this.options.deadLetterQueue(message.queue),
        deadLetter(message.envelope, 'retries_exhausted', String(error.exc_message[0])),
        message.envelope,
      );
      this.metrics?.tasks.inc({ task: message.task, state: 'DEAD_LETTER' });
    }
    this.metrics?.tasks.inc({ task: message.task, state: 'FAILURE' });
    log.error({ err: error.exc_message[0], permanent }, 'task failed');
  }

  private async restoreStale(): Promise<void> {
    try {
      const restored = await this.transport.restoreVisible(this.options.visibilityTimeoutSeconds);
      if (restored > 0) this.log.warn({ restored }, 'restored deliveries of a consumer that went away');
    } catch (err) {
      this.log.warn({ err }, 'restore of stale deliveries failed');
    }
  }

  private async beat(): Promise<void> {
    try {
      await this.transport.heartbeat(this.options.heartbeatTtlMs);
    } catch (err) {
      this.log.warn({ err }, 'heartbeat failed');
    }
  }

  /** Puts back what workers whose heartbeat expired held (a SIGKILL, an OOM kill, a lost node). */
  private async reapDead(): Promise<void> {
    try {
      const reaped = await this.transport.reapDeadConsumers(
        this.options.maxConsumerDeaths,
        this.options.deadLetterQueue,
      );
      if (reaped.consumers > 0) {
        this.metrics?.redelivered.inc(reaped.restored);
        if (reaped.deadLettered > 0)
          this.metrics?.tasks.inc({ task: 'unknown', state: 'DEAD_LETTER' }, reaped.deadLettered);
        const { deadLetters, ...counts } = reaped;
        this.log.warn(counts, 'restored the deliveries of workers that died');
        for (const envelope of deadLetters) await this.closeDeadLettered(envelope);
      }
    } catch (err) {
      this.log.warn({ err }, 'looking for dead workers failed');
    }
  }

  /**
   * A message the reaper dead-lettered never reached an outcome: its task's `deadLettered` hook
   * closes what it was doing (a prediction left running fails with why).
   */
  private async closeDeadLettered(envelope: Envelope): Promise<void> {
    let message: TaskMessage;
    try {
      message = decodeMessage(JSON.stringify(envelope));
    } catch {
      return; // not a task message: nothing it was about can be known
    }
    const header = (envelope.headers[DEAD_LETTER_HEADER] ?? {}) as { reason?: unknown; error?: unknown };
    const why = {
      reason: typeof header.reason === 'string' ? header.reason : 'dead_lettered',
      error: typeof header.error === 'string' ? header.error : 'the message was dead-lettered',
    };
    try {
      // What Celery records for a task whose worker process died under it.
      await this.results.store(
        message.id,
        'FAILURE',
        { exc_type: 'WorkerLostError', exc_message: [why.error], exc_module: 'billiard.exceptions' },
        { name: message.task, retries: message.retries, queue: message.queue },
      );
      const definition = this.catalog.get(message.task);
      const parsed = definition?.deadLettered ? definition.payload.safeParse(message.kwargs) : undefined;
      if (!definition?.deadLettered || !parsed?.success) return;
      await definition.deadLettered(parsed.data, why);
      this.log.warn({ task: message.task, task_id: message.id, ...why }, 'dead-lettered task closed');
    } catch (err) {
      this.log.error(
        { err, task: message.task, task_id: message.id },
        'could not close a dead-lettered task',
      );
    }
  }

  private async touchHeld(): Promise<void> {
    try {
      await this.transport.touch([
        ...this.running.keys(),
        ...this.held.keys(),
        ...this.ready.map((d) => d.message.deliveryTag),
        ...[...this.collecting.values()].flatMap((b) => b.deliveries.map((d) => d.message.deliveryTag)),
      ]);
    } catch (err) {
      this.log.warn({ err }, 'could not refresh held deliveries');
    }
  }
}
