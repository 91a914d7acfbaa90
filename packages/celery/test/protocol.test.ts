import { randomBytes } from 'node:crypto';
import { runPython } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEnvelope, decodeMessage, MalformedMessageError, retryEnvelope } from '../src/protocol.js';
import { KombuRedisTransport, queueKeys } from '../src/transport.js';

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

  it('builds a retry as the same task with one more retry, a new delivery tag and an eta', () => {
    const envelope = buildEnvelope({ task: 'demo.add', kwargs: {}, queue: 'q' });
    const eta = new Date(Date.now() + 1000);
    const retry = retryEnvelope(decodeMessage(JSON.stringify(envelope)), eta);
    expect(retry.headers).toMatchObject({ id: envelope.headers.id, retries: 1, eta: eta.toISOString() });
    expect(retry.properties.delivery_tag).not.toBe(envelope.properties.delivery_tag);
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
    await transport.ack(tag);
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

  it('moves an unparseable item to the dead-letter list instead of losing it', async () => {
    const q = queue();
    await redis.lpush(q, '{"broken"');
    const transport = new KombuRedisTransport(redis);
    expect(await transport.reserve(q, `${q}.dead`)).toEqual({ kind: 'dead', raw: '{"broken"' });
    expect(await redis.lrange(`${q}.dead`, 0, -1)).toEqual(['{"broken"']);
    expect(queueKeys(q)).toHaveLength(4);
    await transport.close();
  });
});
