import { type Database, listUnfinishedTenants, TASKS, type TaskPublisher } from '@platform/core';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Periodic work, published as tasks so that any worker may run it. Each period is claimed with a
 * Redis key (SET NX with the period as expiry), so across replicas it is published once.
 */
export class Scheduler {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly deps: { db: Database; redis: Redis; publisher: TaskPublisher; log: Logger },
    private readonly options: {
      maintenanceIntervalSeconds: number;
      resumeIntervalSeconds: number;
      /** How often usage counters are flushed to PostgreSQL (`platform.usage_flush`). */
      usageFlushIntervalSeconds: number;
      /** Replicas sharing a key prefix (those consuming the same queues) share each period. */
      keyPrefix: string;
    },
  ) {}

  start(): void {
    void this.tick('partman_maintenance', this.options.maintenanceIntervalSeconds, () => this.maintenance());
    void this.tick('resume_tenants', this.options.resumeIntervalSeconds, () => this.resumeTenants());
    this.every('usage_flush', this.options.usageFlushIntervalSeconds, () =>
      this.deps.publisher.publish(TASKS.usageFlush, {}).then(() => undefined),
    );
    this.timers.push(
      setInterval(
        () =>
          void this.tick('partman_maintenance', this.options.maintenanceIntervalSeconds, () =>
            this.maintenance(),
          ),
        this.options.maintenanceIntervalSeconds * 1000,
      ),
      setInterval(
        () =>
          void this.tick('resume_tenants', this.options.resumeIntervalSeconds, () => this.resumeTenants()),
        this.options.resumeIntervalSeconds * 1000,
      ),
    );
  }

  /** Claims and runs `fn` once per `periodSeconds` across replicas. */
  private every(name: string, periodSeconds: number, fn: () => Promise<void>): void {
    this.timers.push(setInterval(() => void this.tick(name, periodSeconds, fn), periodSeconds * 1000));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private async tick(name: string, periodSeconds: number, fn: () => Promise<void>): Promise<void> {
    try {
      const claimed = await this.deps.redis.set(
        `${this.options.keyPrefix}:${name}`,
        String(process.pid),
        'EX',
        periodSeconds,
        'NX',
      );
      if (claimed === 'OK') await fn();
    } catch (err) {
      this.deps.log.warn({ err, schedule: name }, 'scheduled work failed');
    }
  }

  private async maintenance(): Promise<void> {
    await this.deps.publisher.publish(TASKS.partmanMaintenance, {});
  }

  /** Tenants left in provisioning or deleting whose runner went away get a new task. */
  private async resumeTenants(): Promise<void> {
    for (const t of await listUnfinishedTenants(this.deps.db)) {
      const task = t.status === 'deleting' ? TASKS.deprovisionTenant : TASKS.provisionTenant;
      await this.deps.publisher.publish(task, { tenant_id: t.id });
    }
  }
}
