import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, spawnManaged, stopAllManaged } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApi, type TestApi, type TestTenant } from './helpers.js';

const run = promisify(execFile);
const CONTRACT = join(REPO_ROOT, 'services/api/contract');
const SPEC = join(REPO_ROOT, 'services/api/openapi/openapi.json');
const ST = join(CONTRACT, '.venv/bin/st');
/** Fixed, so a failure reproduces; the budgets keep the gate to a few minutes. */
const SEED = 20261202;
const TENANT_BUDGET_S = 100;
const ADMIN_BUDGET_S = 70;

let api: TestApi;
let tenant: TestTenant;
let reports: string;
/** For the hooks (contract/hooks.py): the live model catalog, name -> feature count. */
let models: Record<string, number>;

beforeAll(async () => {
  // Installs the pinned schemathesis into services/api/contract/.venv once; a no-op afterwards.
  await run('bash', [join(CONTRACT, 'setup-venv.sh')], { maxBuffer: 16 * 1024 * 1024 });
  // Rate limits on, as in production: their headers and 429s are part of the contract.
  // Schemathesis sends wrong credentials on purpose, thousands of times, from one address.
  api = await startTestApi({
    RATE_LIMITS: 'on',
    RATE_LIMIT_AUTH_FAILURES: '1000000',
    RATE_LIMIT_HOLD_MS: '0',
  });
  tenant = await api.createTenant({ plan: 'enterprise' });
  const catalog = await tenant.client.get<{ data: Array<{ name: string; input_schema: { count: number } }> }>(
    '/v1/models',
  );
  models = Object.fromEntries(catalog.body.data.map((m) => [m.name, m.input_schema.count]));
  reports = mkdtempSync(join(tmpdir(), 'api-contract-'));
}, 180_000);

afterAll(async () => {
  await stopAllManaged();
  await api?.stop();
  if (reports) rmSync(reports, { recursive: true, force: true });
});

/** Runs `st run` against the live API; resolves with its exit code and output. */
async function schemathesis(name: string, token: string, filter: string[], budgetSeconds: number) {
  const proc = spawnManaged(
    ST,
    [
      'run',
      SPEC,
      '--url',
      api.api.url,
      '--header',
      `Authorization: Bearer ${token}`,
      ...filter,
      '--checks',
      'all',
      // Not the coverage phase: on CPython 3.11.7 it can crash inside hypothesis ("AST constructor
      // recursion depth mismatch", a CPython bug), which fails the run for no fault of the API.
      '--phases',
      'examples,fuzzing,stateful',
      // Text is UTF-8 without NUL characters (PostgreSQL stores no other; the API refuses it, 422).
      '--generation-allow-x00',
      'false',
      '--generation-codec',
      'utf-8',
      '--seed',
      String(SEED),
      '--max-time',
      String(budgetSeconds),
      '--workers',
      '2',
      '--request-timeout',
      '20',
      '--report',
      'junit',
      '--report-junit-path',
      join(reports, `${name}.xml`),
      '--output-truncate',
      'false',
      '--no-color',
    ],
    {
      SCHEMATHESIS_HOOKS: join(CONTRACT, 'hooks.py'),
      CONTRACT_RETENTION_DAYS: '365',
      CONTRACT_MODELS: JSON.stringify(models),
      PYTHONUNBUFFERED: '1',
    },
    CONTRACT,
  );
  const [code] = (await once(proc.child, 'exit')) as [number | null];
  const junit = readFileSync(join(reports, `${name}.xml`), 'utf8');
  return { code, output: proc.output(), junit };
}

describe('the OpenAPI spec holds for the running API (schemathesis, --checks all)', () => {
  it(
    'tenant operations, with a tenant API key',
    async () => {
      const result = await schemathesis(
        'tenant',
        tenant.key,
        ['--exclude-tag', 'Tenants', '--exclude-tag', 'API keys'],
        TENANT_BUDGET_S,
      );
      expect(result.code, result.output).toBe(0);
      expect(result.junit).toMatch(/<testcase /);
      expect(result.junit).not.toMatch(/<failure|<error/);
    },
    (TENANT_BUDGET_S + 120) * 1000,
  );

  it(
    'admin operations, with the admin token',
    async () => {
      const result = await schemathesis(
        'admin',
        ADMIN_TOKEN,
        ['--include-tag', 'Tenants', '--include-tag', 'API keys'],
        ADMIN_BUDGET_S,
      );
      expect(result.code, result.output).toBe(0);
      expect(result.junit).toMatch(/<testcase /);
      expect(result.junit).not.toMatch(/<failure|<error/);
    },
    (ADMIN_BUDGET_S + 120) * 1000,
  );
});
