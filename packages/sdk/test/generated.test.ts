import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PlatformAdminClient, PlatformClient, TENANT_SLUG_PATTERN, VERSION } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..');
const SPEC = join(ROOT, '../../services/api/openapi/openapi.json');
const SCHEMA = join(ROOT, 'src/generated/schema.ts');

/** Where each operation of the spec is in the SDK. */
const OPERATIONS: Record<string, string> = {
  createTenant: 'admin.tenants.create',
  listTenants: 'admin.tenants.list',
  getTenant: 'admin.tenants.get',
  deleteTenant: 'admin.tenants.delete',
  retryTenantProvisioning: 'admin.tenants.retry',
  getTenantResources: 'admin.tenants.resources',
  updateTenant: 'admin.tenants.update',
  getTenantUsage: 'admin.tenants.usage',
  createApiKey: 'admin.apiKeys.create',
  listApiKeys: 'admin.apiKeys.list',
  revokeApiKey: 'admin.apiKeys.revoke',
  listAudit: 'admin.audit.list',
  listQueues: 'admin.queues.list',
  listDeadLetters: 'admin.queues.deadLetters',
  requeueDeadLetter: 'admin.queues.requeue',
  discardDeadLetter: 'admin.queues.discard',
  createUser: 'client.users.create',
  listUsers: 'client.users.list',
  getUser: 'client.users.get',
  updateUser: 'client.users.update',
  deleteUser: 'client.users.delete',
  ingestEvents: 'client.events.ingest',
  queryEvents: 'client.events.query',
  createPrediction: 'client.predictions.create',
  listPredictions: 'client.predictions.list',
  getPrediction: 'client.predictions.get',
  listModels: 'client.models.list',
  getUsage: 'client.usage.get',
};

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const line = x.findIndex((l, i) => l !== y[i]);
  const at = line === -1 ? Math.min(x.length, y.length) : line;
  return `line ${at + 1}: committed ${JSON.stringify(x[at])}, fresh ${JSON.stringify(y[at])}`;
}

describe('generated types', () => {
  it('src/generated/schema.ts is exactly what openapi-typescript makes from the current spec', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/generate.mjs', '--stdout'], {
      cwd: ROOT,
      maxBuffer: 32 * 1024 * 1024,
    });
    const committed = readFileSync(SCHEMA, 'utf8');
    if (committed !== stdout) {
      expect.fail(
        `src/generated/schema.ts is stale: run \`pnpm --filter @platform/sdk generate\` (${firstDifference(committed, stdout)})`,
      );
    }
    expect(committed.split('\n')[0]).toBe(
      '// generated from services/api/openapi/openapi.json by openapi-typescript — do not edit',
    );
  });

  it('hand-written code takes only types from the generated file', () => {
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.startsWith('generated'),
    );
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(join(ROOT, 'src', file), 'utf8');
      for (const m of text.matchAll(
        /^(import|export)\s+(type\s+)?[^;]*from '(\.\.?\/)+generated\/[^']+';/gm,
      )) {
        expect(m[2], `${file}: ${m[0]}`).toBe('type ');
      }
    }
  });

  it('every operation of the spec has an SDK method', () => {
    const spec = JSON.parse(readFileSync(SPEC, 'utf8')) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ids = Object.values(spec.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(ids.sort()).toEqual(Object.keys(OPERATIONS).sort());
    const clients = {
      client: new PlatformClient({ apiKey: 'k', baseUrl: 'http://x' }),
      admin: new PlatformAdminClient({ adminToken: 't', baseUrl: 'http://x' }),
    };
    for (const where of Object.values(OPERATIONS)) {
      const [root, resource, method] = where.split('.') as [keyof typeof clients, string, string];
      const target = (clients[root] as unknown as Record<string, Record<string, unknown>>)[resource];
      expect(typeof target?.[method], where).toBe('function');
    }
  });

  it("TENANT_SLUG_PATTERN is the spec's pattern of CreateTenantRequest.slug", () => {
    const spec = JSON.parse(readFileSync(SPEC, 'utf8')) as {
      components: { schemas: Record<string, { properties: Record<string, { pattern?: string }> }> };
    };
    expect(spec.components.schemas.CreateTenantRequest?.properties.slug?.pattern).toBe(TENANT_SLUG_PATTERN);
  });

  it('VERSION is package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
