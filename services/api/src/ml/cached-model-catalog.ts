import type { MlGatewayClient, ModelCatalog, ModelInfo } from '@platform/core';
import type { Redis } from 'ioredis';

const CACHE_KEY = 'platform:ml:models';

/**
 * The ml-gateway's model list, cached in Redis for every API replica and in process. Redis is a
 * cache here, not a dependency: when it fails, the in-process copy (or the gateway) answers.
 */
export class CachedModelCatalog implements ModelCatalog {
  private local: { models: ModelInfo[]; until: number } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly gateway: MlGatewayClient,
    private readonly ttlSeconds: number,
  ) {}

  async list(): Promise<ModelInfo[]> {
    if (this.ttlSeconds <= 0) return this.gateway.listModels();
    if (this.local && this.local.until > Date.now()) return this.local.models;
    const cached = await this.redis.get(CACHE_KEY).catch(() => null);
    if (cached) return this.keep(JSON.parse(cached) as ModelInfo[]);
    const models = await this.gateway.listModels();
    await this.redis.set(CACHE_KEY, JSON.stringify(models), 'EX', this.ttlSeconds).catch(() => undefined);
    return this.keep(models);
  }

  private keep(models: ModelInfo[]): ModelInfo[] {
    // A short in-process copy: a fraction of the shared TTL, so replicas converge quickly.
    this.local = { models, until: Date.now() + Math.min(5, this.ttlSeconds) * 1000 };
    return models;
  }
}
