import type { IncomingMessage } from 'node:http';
import { hasUnstorable } from './middleware/storable-text.js';
import type { CreatePredictionRequest } from './models/prediction.models.js';

/**
 * The one write served in front of Express: `POST /v1/predictions` (tsoa's `createPrediction`,
 * which serves every other form of it).
 */
export const HOT_CREATE = {
  operationId: 'createPrediction',
  /** The path, exactly: Express's route and the metrics label. */
  route: '/v1/predictions',
  security: { name: 'api_key', scopes: ['write'] as readonly string[] },
  status: 202,
} as const;

/** The largest number of instances the spec allows (`CreatePredictionRequest.inputs` maxItems). */
const MAX_INSTANCES = 1000;

const JSON_TYPE = /^application\/json(?:;[ \t]*charset=utf-8)?$/i;
const LENGTH = /^[1-9][0-9]{0,9}$/;
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** `BODY_LIMIT` (`512kb`, `1mb`) in bytes, as the body parser reads it. */
export function bodyLimitBytes(limit: string): number {
  const match = /^(\d+)(b|kb|mb)$/.exec(limit);
  if (!match) throw new Error(`BODY_LIMIT must look like 512kb or 1mb, got '${limit}'`);
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

/**
 * Whether a request is the plainest form of `POST /v1/predictions`, the only one taken in front
 * of Express: exactly that path (no query string, no trailing slash), `Content-Type:
 * application/json` (optionally `; charset=utf-8`), a `Content-Length` of 1 byte up to the body
 * limit, no `Transfer-Encoding`, no `Content-Encoding`, no `Idempotency-Key`, no `Origin`.
 */
export function matchHotCreate(
  req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  limitBytes: number,
): boolean {
  if (req.method !== 'POST' || req.url !== HOT_CREATE.route) return false;
  const h = req.headers;
  if (
    h.origin !== undefined ||
    h['idempotency-key'] !== undefined ||
    h['transfer-encoding'] !== undefined ||
    h['content-encoding'] !== undefined
  ) {
    return false;
  }
  const type = h['content-type'];
  const length = h['content-length'];
  return (
    typeof type === 'string' &&
    JSON_TYPE.test(type) &&
    typeof length === 'string' &&
    LENGTH.test(length) &&
    Number(length) <= limitBytes
  );
}

/** The whole body of a request, or undefined when the client went away before sending it. */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () => resolve(undefined));
    req.once('aborted', () => resolve(undefined));
  });
}

/** The first character that is not JSON whitespace (space, tab, line feed, carriage return). */
function firstChar(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return text[i];
  }
  return undefined;
}

/** The marker of a body that is not JSON: the body parser's error type, which gives 400 `malformed_json`. */
export const NOT_JSON = { type: 'entity.parse.failed', status: 400 } as const;

/**
 * The body as the JSON body parser reads it (UTF-8, a leading byte-order mark dropped, strict: an
 * object or an array), or `NOT_JSON` where the parser would refuse it.
 */
export function parseJsonBody(buf: Buffer): unknown {
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = firstChar(text);
  if (first !== '{' && first !== '[') return NOT_JSON;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/**
 * Whether a parsed body is one the spec's validation (tsoa's) and the storable-text rule take as
 * it is: an object of exactly `model` (a string PostgreSQL can store) and `inputs` (1 to 1000
 * arrays of finite numbers). Anything else, valid or not, is left to Express, which gives it the
 * full validation and its exact answer.
 */
export function isPlainCreateBody(body: unknown): body is CreatePredictionRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  if (Object.keys(body).length !== 2 || !Object.hasOwn(body, 'model') || !Object.hasOwn(body, 'inputs')) {
    return false;
  }
  const { model, inputs } = body as { model: unknown; inputs: unknown };
  if (typeof model !== 'string' || hasUnstorable(model)) return false;
  if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > MAX_INSTANCES) return false;
  for (const row of inputs) {
    if (!Array.isArray(row)) return false;
    for (const value of row) if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  }
  return true;
}
