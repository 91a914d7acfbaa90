import {
  deprovisionTenant,
  listUnfinishedTenants,
  provisionTenant,
  type TenantLifecycleDispatcher,
} from '@platform/core';
import type { Knex } from 'knex';
import type { Logger } from 'pino';

type Job = { kind: 'provision' | 'deprovision'; tenantId: string };

/**
 * Runs tenant provisioning and deprovisioning in this process, outside the request, with bounded
 * concurrency. A tenant has at most one job queued or running here; across processes the tenant's
 * lease decides who runs it.
 */
export class InProcessLifecycle implements TenantLifecycleDispatcher {
  private readonly queue: Job[] = [];
  private readonly pending = new Set<string>();
  private running = 0;
  private idle: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
    private readonly concurrency: number,
  ) {}

  provision(tenantId: string): void {
    this.enqueue({ kind: 'provision', tenantId });
  }

  deprovision(tenantId: string): void {
    this.enqueue({ kind: 'deprovision', tenantId });
  }

  /** Picks up tenants left in `provisioning` or `deleting` (e.g. by a process that died). */
  async resumeUnfinished(): Promise<number> {
    const unfinished = await listUnfinishedTenants(this.db);
    for (const t of unfinished) {
      this.enqueue({ kind: t.status === 'deleting' ? 'deprovision' : 'provision', tenantId: t.id });
    }
    return unfinished.length;
  }

  /** Stops taking jobs and waits for the running ones. Queued jobs stay resumable in the database. */
  async drain(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private enqueue(job: Job): void {
    const key = `${job.kind}:${job.tenantId}`;
    if (this.stopped || this.pending.has(key)) return;
    this.pending.add(key);
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.running++;
      this.run(job).finally(() => {
        this.running--;
        this.pending.delete(`${job.kind}:${job.tenantId}`);
        if (this.running === 0 && this.queue.length === 0) {
          for (const resolve of this.idle.splice(0)) resolve();
        }
        this.pump();
      });
    }
  }

  private async run(job: Job): Promise<void> {
    const started = Date.now();
    try {
      const outcome =
        job.kind === 'provision'
          ? await provisionTenant(this.db, job.tenantId)
          : await deprovisionTenant(this.db, job.tenantId);
      this.log.info(
        { tenant_id: job.tenantId, job: job.kind, outcome, ms: Date.now() - started },
        'tenant lifecycle',
      );
    } catch (err) {
      this.log.error({ tenant_id: job.tenantId, job: job.kind, err }, 'tenant lifecycle failed');
    }
  }
}
