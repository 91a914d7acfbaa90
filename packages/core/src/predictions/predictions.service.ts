import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { TenantStatements } from '../db/prepared.js';
import {
  type FieldError,
  NotFoundError,
  ServiceUnavailableError,
  TooManyQueuedError,
  ValidationError,
} from '../errors.js';
import type { ModelInfo } from '../ml/ml-gateway.client.js';
import { isUuid, type Page, pageSize } from '../pagination.js';
import type { TaskOutbox } from '../tasks/outbox.js';
import { currentTenant } from '../tenancy/context.js';
import { PLANS } from '../tenancy/plans.js';
import type { UsageMeter } from '../usage/usage.service.js';
import {
  createPredictionUnderCap,
  findPrediction,
  listPredictions,
  type Prediction,
  type QueuedPredictionRow,
} from './predictions.repository.js';

export const MAX_PREDICTION_INSTANCES = 1000;

/** The models the platform can run, as the ml-gateway describes them. */
export interface ModelCatalog {
  list(): Promise<ModelInfo[]>;
}

/** Predictions of the current tenant: validated against the model, stored, then run by a worker. */
export class PredictionsService {
  constructor(
    private readonly db: Knex,
    private readonly models: ModelCatalog,
    private readonly outbox: TaskOutbox,
    private readonly statements: TenantStatements,
    private readonly usage?: UsageMeter,
  ) {}

  async listModels(): Promise<ModelInfo[]> {
    try {
      return await this.models.list();
    } catch (err) {
      // Tenants get a short, fixed message; the cause is logged by the API's error handler.
      const error = new ServiceUnavailableError(
        'ml_gateway_unavailable',
        'The model service is unavailable; try again shortly',
      );
      error.cause = err;
      throw error;
    }
  }

  /** Rejects unknown models and inputs that do not fit the model's input schema before anything is queued. */
  async create(input: { model: string; inputs: number[][] }): Promise<QueuedPredictionRow> {
    const tenant = currentTenant();
    const model = (await this.listModels()).find((m) => m.name === input.model);
    if (!model) {
      throw new ValidationError('Unknown model', [
        { field: 'body.model', message: `no model named '${input.model}'` },
      ]);
    }
    const errors: FieldError[] = [];
    if (input.inputs.length === 0 || input.inputs.length > MAX_PREDICTION_INSTANCES) {
      errors.push({
        field: 'body.inputs',
        message: `must hold between 1 and ${MAX_PREDICTION_INSTANCES} instances`,
      });
    }
    const expected = model.input_schema.count;
    input.inputs.forEach((row, i) => {
      if (row.length !== expected) {
        errors.push({
          field: `body.inputs[${i}]`,
          message: `has ${row.length} features; model ${model.name} expects ${expected}`,
        });
      } else if (!row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        errors.push({ field: `body.inputs[${i}]`, message: 'must contain only finite numbers' });
      }
    });
    if (errors.length > 0) throw new ValidationError('The inputs do not fit the model', errors.slice(0, 50));
    // Metered and held to the plan's predictions_per_day quota (429 quota_exceeded, nothing written).
    const reservation = await this.usage?.reserve(tenant, {
      predictions: 1,
      prediction_instances: input.inputs.length,
    });

    // The row and its task are one statement: they commit together, and the outbox relay
    // publishes the task after the commit, so a worker never sees a task whose row does not exist.
    // The statement writes only while the tenant's backlog (tasks waiting in the outbox for
    // admission) is under its plan's cap; concurrent requests may pass the count together, so the
    // cap can be overshot by as many.
    const maxQueued = PLANS[tenant.plan].limits.queuedPredictions;
    const id = randomUUID();
    const entry = this.outbox.entry(
      'ml.predict',
      { tenant_id: tenant.id, prediction_id: id },
      { id: randomUUID() },
    );
    let created: QueuedPredictionRow | undefined;
    try {
      created = await createPredictionUnderCap(
        this.statements,
        tenant,
        { id, model: model.name, input: input.inputs },
        entry,
        maxQueued,
      );
    } catch (err) {
      await reservation?.release();
      throw err;
    }
    if (!created) {
      // 429 too_many_queued: nothing written, and the quota given back.
      await reservation?.release();
      throw new TooManyQueuedError(maxQueued);
    }
    return created;
  }

  async get(id: string): Promise<Prediction> {
    const row = isUuid(id) ? await findPrediction(this.db, currentTenant(), id) : undefined;
    if (!row) throw new NotFoundError('Prediction');
    return row;
  }

  list(limit?: number, cursor?: string): Promise<Page<Prediction>> {
    return listPredictions(this.db, currentTenant(), pageSize(limit), cursor);
  }
}
