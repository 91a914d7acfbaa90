import type { MlGatewayClient, ModelCatalog, ModelInfo } from '@platform/core';
import type { Redis } from 'ioredis';

const CACHE_KEY = 'platform:ml:models';

/** The ml-gateway's model list, cached in Redis for every API replica. */
export class CachedModelCatalog implements ModelCatalog {
  constructor(
    private readonly redis: Redis,
    private readonly gateway: MlGatewayClient,
    private readonly ttlSeconds: number,
  ) {}

  async list(): Promise<ModelInfo[]> {
    if (this.ttlSeconds > 0) {
      const cached = await this.redis.get(CACHE_KEY);
      if (cached) return JSON.parse(cached) as ModelInfo[];
    }
    const models = await this.gateway.listModels();
    if (this.ttlSeconds > 0) await this.redis.set(CACHE_KEY, JSON.stringify(models), 'EX', this.ttlSeconds);
    return models;
  }
}
