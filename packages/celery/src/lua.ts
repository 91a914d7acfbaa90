import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA1 (`EVALSHA`): the text crosses the wire and is hashed by Redis only
 * the first time a server sees it (or after `SCRIPT FLUSH` or a restart: `NOSCRIPT`, answered by
 * one `EVAL`, which caches it again). Scripts run on every reservation, acknowledgement and result
 * store, so sending a kilobyte of Lua each time would cost both ends on every task.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
