import { randomBytes } from 'node:crypto';
import { runPython } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LuaScript } from '../src/lua.js';
import {
  buildEnvelope,
  decodeMessage,
  type Envelope,
  FAIR_SLOT_HEADER,
  MalformedMessageError,
  retryEnvelope,
} from '../src/protocol.js';
import { RedisResultBackend } from '../src/results.js';
import {
  FAIR_RELEASED_CHANNEL,
  KombuRedisTransport,
  PRIORITY_SEPARATOR,
  queueKeys,
} from '../src/transport.js';

const REDIS_URL = process.env.CELERY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/4';
const redis = new Redis(REDIS_URL);
afterAll(() => redis.quit());

const queue = () => `test.protocol.${randomBytes(4).toString('hex')}`;

describe('Celery protocol v2 messages', () => {
  it('decodes what it encodes', () => {
    const eta = new Date(Date.now() + 5000);
    const envelope = buildEnvelope({ task: 'demo.add', kwargs: { a: 1 }, args: [2], queue: 'q', eta });
    const message = decodeMessage(JSON.stringify(envelope));
    expect(message).toMatchObject({ task: 'demo.add', args: [2], kwargs: { a: 1 }, retries: 0, queue: 'q' });
    expect(message.eta?.toISOString()).toBe(eta.toISOString());
    expect(message.deliveryTag).toBe(envelope.properties.delivery_tag);
    expect(JSON.parse(Buffer.from(envelope.body, 'base64').toString())).toEqual([
      [2],
      { a: 1 },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('decodes a message published by Python Celery 5, countdown included', async () => {
    const q = queue();
    const id = await runPython(
      `import os\nfrom celery import Celery\napp = Celery(broker=os.environ["URL"])\nr = app.send_task("demo.mul", args=[3], kwargs={"b": 4}, queue=os.environ["Q"], countdown=30)\nprint(r.id)`,
      { URL: REDIS_URL, Q: q },
    );
    const raw = await redis.rpop(q);
    expect(raw).toBeTruthy();
    const message = decodeMessage(raw as string);
    expect(message).toMatchObject({
      id: id.trim(),
      task: 'demo.mul',
      args: [3],
      kwargs: { b: 4 },
      retries: 0,
      queue: q,
    });
    expect((message.eta?.getTime() ?? 0) - Date.now()).toBeGreaterThan(20_000);
    expect(message.envelope.headers.lang).toBe('py');
  });

  it('refuses what is not a Celery v2 message', () => {
    for (const raw of ['nope', '{}', JSON.stringify({ headers: { task: 'x', id: 'y' }, body: 'e30=' })]) {
      expect(() => decodeMessage(raw)).toThrow(MalformedMessageError);
    }
  });

  it('builds a retry as the same task with one more retry, a new delivery tag and an eta, holding no fairness slot', () => {
    const envelope = buildEnvelope({ task: 'demo.add', kwargs: {}, queue: 'q' });
    envelope.headers[FAIR_SLOT_HEADER] = { key: 'platform:fair:q:t', member: envelope.headers.id };
    const eta = new Date(Date.now() + 1000);
    const retry = retryEnvelope(decodeMessage(JSON.stringify(envelope)), eta);
    expect(retry.headers).toMatchObject({ id: envelope.headers.id, retries: 1, eta: eta.toISOString() });
    expect(retry.properties.delivery_tag).not.toBe(envelope.properties.delivery_tag);
    // The failed delivery's slot is released with its acknowledgement; the retry holds none.
    expect(retry.headers[FAIR_SLOT_HEADER]).toBeUndefined();
    expect(envelope.headers[FAIR_SLOT_HEADER]).toBeDefined();
  });
});

describe("kombu's Redis transport", () => {
  it('reserves atomically into unacked, and acks', async () => {
    const q = queue();
    const transport = new KombuRedisTransport(redis);
    const envelope = buildEnvelope({ task: 't', kwargs: {}, queue: q });
    await transport.publish(envelope);
    expect(await transport.depth(q)).toBe(1);
    const reserved = await transport.reserve(q, `${q}.dead`);
    expect(reserved?.kind).toBe('ok');
    const tag = envelope.properties.delivery_tag;
    const stored = JSON.parse((await redis.hget('unacked', tag)) as string);
    expect(stored).toEqual([envelope, '', q]);
    expect(await redis.zscore('unacked_index', tag)).not.toBeNull();
    await transport.ack(tag, envelope);
    expect(await redis.hexists('unacked', tag)).toBe(0);
    expect(await transport.reserve(q, `${q}.dead`)).toBeNull();
    await transport.close();
  });

  it('restores a delivery to the consumer end, flagged as redelivered', async () => {
    const q = queue();
    const transport = new KombuRedisTransport(redis);
    const first = buildEnvelope({ task: 'first', kwargs: {}, queue: q });
    const second = buildEnvelope({ task: 'second', kwargs: {}, queue: q });
    await transport.publish(first);
    await transport.reserve(q, `${q}.dead`);
    await transport.publish(second);
    expect(await transport.restore(first.properties.delivery_tag)).toBe(true);
    const next = decodeMessage((await redis.lindex(q, -1)) as string);
    expect(next.task).toBe('first');
    expect(next.envelope.headers.redelivered).toBe(true);
    expect(await redis.hexists('unacked', first.properties.delivery_tag)).toBe(0);
    await transport.close();
  });

  it("restores deliveries past the visibility timeout in one script, never taking kombu's unacked_mutex", async () => {
    const q = queue();
    const keys = { unacked: `${q}:unacked`, unackedIndex: `${q}:unacked_index`, unackedMutex: `${q}:mutex` };
    const transport = new KombuRedisTransport(redis, keys);
    const [stale, refreshed, fresh] = ['stale', 'refreshed', 'fresh'].map((task) =>
      buildEnvelope({ task, kwargs: {}, queue: q }),
    ) as [Envelope, Envelope, Envelope];
    for (const envelope of [stale, refreshed, fresh]) await transport.publish(envelope);
    expect(await transport.reserveMany(q, `${q}.dead`, 3)).toHaveLength(3);
    const old = Date.now() / 1000 - 120;
    for (const envelope of [stale, refreshed])
      await redis.zadd(keys.unackedIndex, old, envelope.properties.delivery_tag);
    // Its consumer refreshes one of the two before the restore: that one stays held.
    await transport.touch([refreshed.properties.delivery_tag]);
    // A Python consumer holds kombu's lock (or died holding it): it stops kombu's restores, not ours.
    await redis.set(keys.unackedMutex, 'python-token', 'EX', 60);

    expect(await transport.restoreVisible(60)).toBe(1);
    expect(await redis.get(keys.unackedMutex)).toBe('python-token');
    const queued = (await redis.lrange(q, 0, -1)).map((raw) => decodeMessage(raw));
    expect(queued.map((m) => m.task)).toEqual(['stale']);
    expect(queued[0]?.envelope.headers.redelivered).toBe(true);
    expect(queued[0]?.envelope.properties.delivery_info.redelivered).toBe(true);
    expect((await redis.hkeys(keys.unacked)).sort()).toEqual(
      [refreshed, fresh].map((e) => e.properties.delivery_tag).sort(),
    );
    expect(await redis.zscore(keys.unackedIndex, stale.properties.delivery_tag)).toBeNull();
    // Nothing is past the timeout any more: a second restore (another consumer's) finds nothing.
    expect(await transport.restoreVisible(60)).toBe(0);
    expect(await redis.llen(q)).toBe(1);
    await redis.del(keys.unacked, keys.unackedIndex, keys.unackedMutex, q);
  });

  it('moves an unparseable item to the dead-letter list instead of losing it', async () => {
    const q = queue();
    await redis.lpush(q, '{"broken"');
    const transport = new KombuRedisTransport(redis);
    expect(await transport.reserve(q, `${q}.dead`)).toEqual({ kind: 'dead', raw: '{"broken"' });
    expect(await redis.lrange(`${q}.dead`, 0, -1)).toEqual(['{"broken"']);
    expect(queueKeys(q)).toHaveLength(4);
    await transport.close();
  });

  it('reserves up to N deliveries in one call, highest priority first, counting unparseable ones', async () => {
    const q = queue();
    const transport = new KombuRedisTransport(redis, undefined, {
      id: `c-${randomBytes(4).toString('hex')}`,
    });
    // kombu's priorities: the plain list first (0), then the sub-queues 3, 6, 9.
    const low = [0, 1, 2].map((n) => buildEnvelope({ task: 'low', kwargs: { n }, queue: q }));
    const high = buildEnvelope({ task: 'high', kwargs: {}, queue: q });
    for (const envelope of low) await redis.lpush(`${q}${PRIORITY_SEPARATOR}3`, JSON.stringify(envelope));
    await transport.publish(high);
    await redis.lpush(`${q}${PRIORITY_SEPARATOR}6`, 'not json');

    const first = await transport.reserveMany(q, `${q}.dead`, 3);
    expect(first.map((r) => r.kind)).toEqual(['ok', 'ok', 'ok']);
    expect(first.map((r) => decodeMessage(r.raw).task)).toEqual(['high', 'low', 'low']);
    expect(first.map((r) => decodeMessage(r.raw).kwargs.n)).toEqual([undefined, 0, 1]);
    for (const r of first) {
      const tag = decodeMessage(r.raw).deliveryTag;
      expect(await redis.hexists('unacked', tag)).toBe(1);
      expect(await redis.zscore('unacked_index', tag)).not.toBeNull();
    }
    // The rest: one message and the unparseable item (dead-lettered, returned as such).
    const rest = await transport.reserveMany(q, `${q}.dead`, 10);
    expect(rest.map((r) => r.kind)).toEqual(['ok', 'dead']);
    expect(await redis.lrange(`${q}.dead`, 0, -1)).toEqual(['not json']);
    expect(await transport.reserveMany(q, `${q}.dead`, 10)).toEqual([]);

    const delivered = [...first, rest[0]].map((r) => decodeMessage((r as { raw: string }).raw));
    await transport.ackMany(delivered.map((m) => ({ tag: m.deliveryTag, envelope: m.envelope })));
    for (const m of delivered) {
      expect(await redis.hexists('unacked', m.deliveryTag)).toBe(0);
      expect(await redis.zscore('unacked_index', m.deliveryTag)).toBeNull();
    }
    await transport.close();
  });

  it("acknowledging releases each delivery's fairness slot and announces each group once", async () => {
    const q = queue();
    const slotKey = `test:fair:${q}`;
    const transport = new KombuRedisTransport(redis);
    const envelopes = [0, 1, 2].map((n) => {
      const envelope = buildEnvelope({ task: 't', kwargs: { n }, queue: q });
      envelope.headers[FAIR_SLOT_HEADER] = { key: slotKey, member: envelope.headers.id };
      return envelope;
    });
    await transport.publishMany(envelopes);
    await redis.zadd(slotKey, Date.now() / 1000, 'someone-else');
    expect(await redis.zcard(slotKey)).toBe(4);
    const subscriber = redis.duplicate();
    const announced: string[] = [];
    subscriber.on('message', (_channel, key) => announced.push(key));
    await subscriber.subscribe(FAIR_RELEASED_CHANNEL);
    const reserved = await transport.reserveMany(q, `${q}.dead`, 3);
    const messages = reserved.map((r) => decodeMessage(r.raw));
    await transport.ack(messages[0]?.deliveryTag as string, messages[0]?.envelope as never);
    expect(await redis.zcard(slotKey)).toBe(3);
    await transport.ackMany(messages.slice(1).map((m) => ({ tag: m.deliveryTag, envelope: m.envelope })));
    expect(await redis.zrange(slotKey, 0, -1)).toEqual(['someone-else']);
    // A round trip on the subscriber's connection: every publish before it has been delivered.
    await subscriber.ping();
    expect(announced).toEqual([slotKey, slotKey]);
    await subscriber.quit();
    await transport.close();
  });

  it('stores the results of a batch in one call and never overwrites a SUCCESS', async () => {
    const results = new RedisResultBackend(redis, { expiresSeconds: 60 });
    const [done, fresh] = [`t-${randomBytes(4).toString('hex')}`, `t-${randomBytes(4).toString('hex')}`];
    await results.store(done, 'SUCCESS', 1);
    await results.storeMany([
      { taskId: done, state: 'FAILURE', result: { exc_type: 'X', exc_message: [], exc_module: null } },
      { taskId: fresh, state: 'SUCCESS', result: { ok: true }, extra: { name: 'demo', retries: 2 } },
    ]);
    expect(await results.get(done)).toMatchObject({ status: 'SUCCESS', result: 1 });
    expect(await results.get(fresh)).toMatchObject({
      status: 'SUCCESS',
      result: { ok: true },
      name: 'demo',
      retries: 2,
      task_id: fresh,
    });
    expect(await redis.ttl(`celery-task-meta-${fresh}`)).toBeGreaterThan(0);
  });

  it('runs a script by its SHA1, loading it with one EVAL the first time a server lacks it', async () => {
    // A script this server has never seen (the text is new): EVALSHA fails with NOSCRIPT first.
    const marker = randomBytes(8).toString('hex');
    const script = new LuaScript(`return {KEYS[1], ARGV[1], '${marker}'}`);
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    expect(await script.run(redis, ['k'], ['v'])).toEqual(['k', 'v', marker]);
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(redis, ['k2'], [3])).toEqual(['k2', '3', marker]);
  });
});
