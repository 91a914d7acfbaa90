import { KombuRedisTransport } from '@platform/celery';
import type { Redis } from 'ioredis';
import { round } from '../lib/stats.js';
import { prefill } from './noop.js';

export interface ReserveCeiling {
  /** Reserves in flight at once on one connection (1 = one after the other, as the engine's loop does). */
  in_flight: number;
  messages: number;
  reserves_per_s: number;
  us_per_reserve: number;
}

/**
 * How fast `KombuRedisTransport.reserve` (the engine's Lua pop-and-record, one round trip each)
 * can go from this process, `inFlight` at a time, on a pre-filled queue. Nothing is run or
 * acknowledged: it is the ceiling that the reserve step alone puts on a worker.
 */
export async function reserveCeiling(
  redis: Redis,
  queue: string,
  messages: number,
  inFlight: number,
): Promise<ReserveCeiling> {
  await redis.flushdb();
  await prefill(redis, queue, messages);
  const transport = new KombuRedisTransport(redis);
  let left = messages;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (left > 0) {
        left--;
        const reserved = await transport.reserve(queue, `${queue}.dead`);
        if (reserved?.kind !== 'ok') throw new Error(`reserve returned ${reserved?.kind ?? 'nothing'}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await redis.flushdb();
  return {
    in_flight: inFlight,
    messages,
    reserves_per_s: round(messages / seconds, 0),
    us_per_reserve: round((seconds * 1e6) / messages, 1),
  };
}
