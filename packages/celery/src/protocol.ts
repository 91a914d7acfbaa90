import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Celery task messages, protocol v2, JSON, in kombu's Redis envelope:
 * `{ body: base64(JSON [args, kwargs, embed]), content-type, content-encoding, headers, properties }`.
 */
export interface CeleryHeaders {
  lang: string;
  task: string;
  id: string;
  shadow?: string | null;
  eta?: string | null;
  expires?: string | null;
  group?: string | null;
  group_index?: number | null;
  retries?: number;
  timelimit?: [number | null, number | null];
  root_id?: string | null;
  parent_id?: string | null;
  argsrepr?: string | null;
  kwargsrepr?: string | null;
  origin?: string | null;
  ignore_result?: boolean;
  redelivered?: boolean;
  [key: string]: unknown;
}

export interface Envelope {
  body: string;
  'content-type': string;
  'content-encoding': string;
  headers: CeleryHeaders;
  properties: {
    correlation_id?: string;
    reply_to?: string;
    delivery_mode?: number;
    delivery_info: { exchange: string; routing_key: string; redelivered?: boolean };
    priority?: number;
    body_encoding: string;
    delivery_tag: string;
    [key: string]: unknown;
  };
}

export interface TaskCall {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue: string;
  id?: string;
  /** Run no earlier than this. */
  eta?: Date;
  /** Discard (REVOKED) when not started by then. */
  expires?: Date;
  retries?: number;
  rootId?: string;
  parentId?: string;
  /** Extra message headers (e.g. `x-fair-slot`); Python Celery sees them on `task.request`. */
  headers?: Record<string, unknown>;
  /**
   * kombu's message priority (0, the default, is served first; 3, 6 and 9 go to the queue's
   * priority sub-queues, popped after it, by Python Celery as by this package's consumer).
   */
  priority?: number;
}

/** A decoded message. */
export interface TaskMessage {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  queue: string;
  deliveryTag: string;
  envelope: Envelope;
}

export class MalformedMessageError extends Error {}

const ORIGIN = `node@${hostname()}`;

export function buildEnvelope(call: TaskCall): Envelope {
  const id = call.id ?? randomUUID();
  const kwargs = call.kwargs ?? {};
  const args = call.args ?? [];
  const body = JSON.stringify([args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  return {
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-type': 'application/json',
    'content-encoding': 'utf-8',
    headers: {
      lang: 'js',
      task: call.task,
      id,
      shadow: null,
      eta: call.eta ? call.eta.toISOString() : null,
      expires: call.expires ? call.expires.toISOString() : null,
      group: null,
      group_index: null,
      retries: call.retries ?? 0,
      timelimit: [null, null],
      root_id: call.rootId ?? id,
      parent_id: call.parentId ?? null,
      argsrepr: JSON.stringify(args),
      kwargsrepr: JSON.stringify(kwargs),
      origin: ORIGIN,
      ignore_result: false,
      ...call.headers,
    },
    properties: {
      correlation_id: id,
      reply_to: '',
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: call.queue },
      priority: call.priority ?? 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  };
}

function parseDate(value: unknown, field: string): Date | null {
  if (value === null || value === undefined) return null;
  const date = new Date(String(value));
  if (Number.isNaN(date.getTime()))
    throw new MalformedMessageError(`${field} is not a date: ${String(value)}`);
  return date;
}

/** Decodes a raw queue item (a JSON envelope). Throws MalformedMessageError for anything else. */
export function decodeMessage(raw: string): TaskMessage {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(raw) as Envelope;
  } catch {
    throw new MalformedMessageError('not JSON');
  }
  const headers = envelope?.headers;
  const properties = envelope?.properties;
  if (!headers || typeof headers.task !== 'string' || typeof headers.id !== 'string') {
    throw new MalformedMessageError('not a Celery protocol v2 message (headers.task / headers.id missing)');
  }
  if (envelope['content-type'] !== 'application/json') {
    throw new MalformedMessageError(`unsupported content type ${envelope['content-type']}`);
  }
  const bodyText =
    properties?.body_encoding === 'base64'
      ? Buffer.from(envelope.body, 'base64').toString('utf8')
      : envelope.body;
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    throw new MalformedMessageError('body is not JSON');
  }
  if (!Array.isArray(body) || !Array.isArray(body[0]) || typeof body[1] !== 'object' || body[1] === null) {
    throw new MalformedMessageError('body is not [args, kwargs, embed]');
  }
  return {
    id: headers.id,
    task: headers.task,
    args: body[0] as unknown[],
    kwargs: body[1] as Record<string, unknown>,
    eta: parseDate(headers.eta, 'eta'),
    expires: parseDate(headers.expires, 'expires'),
    retries: typeof headers.retries === 'number' ? headers.retries : 0,
    queue: properties?.delivery_info?.routing_key ?? '',
    deliveryTag: properties?.delivery_tag ?? '',
    envelope,
  };
}

/**
 * Header of a message admitted under a fairness slot: `{key, member}`, a sorted set and the
 * member (the task id) the publish added to it. Acknowledging the delivery removes the member and
 * publishes the key on `FAIR_RELEASED_CHANNEL`, so the publisher can admit the next message. Only
 * the delivery admitted holds it: the slot is released when that delivery is acknowledged, so a
 * message made from it (a retry, a dead letter requeued) goes without the header, outside the
 * slots, and its acknowledgement releases nothing.
 */
export const FAIR_SLOT_HEADER = 'x-fair-slot';

/**
 * The same task, to run again at `eta` with one more retry counted. It holds no fairness slot:
 * the failed delivery's is released with its acknowledgement (`FAIR_SLOT_HEADER`).
 */
export function retryEnvelope(message: TaskMessage, eta: Date): Envelope {
  const envelope = structuredClone(message.envelope);
  delete envelope.headers[FAIR_SLOT_HEADER];
  envelope.headers.retries = message.retries + 1;
  envelope.headers.eta = eta.toISOString();
  delete envelope.headers.redelivered;
  envelope.properties.delivery_tag = randomUUID();
  if (envelope.properties.delivery_info) delete envelope.properties.delivery_info.redelivered;
  return envelope;
}
