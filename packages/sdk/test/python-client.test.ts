import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ML_PYTHON } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveApi, type LiveTenant, startLiveApi } from './support/live-api.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const SPEC = join(ROOT, '../../services/api/openapi/openapi.json');
/** A virtualenv of this package (gitignored) with the generator; its httpx/attrs run the client too. */
const VENV = join(ROOT, '.venv');
const GENERATOR = 'openapi-python-client==0.29.1';

/** The virtualenv, made with the ml-gateway's Python (or python3) when missing. */
async function ensureVenv(): Promise<void> {
  if (existsSync(join(VENV, 'bin/openapi-python-client'))) return;
  const python = existsSync(ML_PYTHON) ? ML_PYTHON : 'python3';
  await run(python, ['-m', 'venv', VENV]);
  await run(
    join(VENV, 'bin/python'),
    ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', GENERATOR],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}

let out: string;
let generated: { stdout: string; stderr: string };
let live: LiveApi;
let tenant: LiveTenant;

beforeAll(async () => {
  await ensureVenv();
  out = mkdtempSync(join(tmpdir(), 'sdk-python-'));
  // The venv's bin on PATH: the generator formats its output with ruff, a dependency of it.
  generated = await run(
    join(VENV, 'bin/openapi-python-client'),
    ['generate', '--path', SPEC, '--output-path', join(out, 'platform_api_client'), '--meta', 'none'],
    { env: { ...process.env, PATH: `${join(VENV, 'bin')}${delimiter}${process.env.PATH ?? ''}` } },
  );
  live = await startLiveApi();
  tenant = await live.createTenant();
  await tenant.client.users.create({ email: 'py@example.com', name: 'Python' });
});
afterAll(async () => {
  await live?.stop();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('a Python client generated from the spec (openapi-python-client)', () => {
  it('generates without warnings', () => {
    const output = `${generated.stdout}\n${generated.stderr}`;
    expect(output, output).not.toMatch(/warning|error|skipping/i);
  });

  it('makes authenticated calls to the live API', async () => {
    const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(out)})
from platform_api_client import AuthenticatedClient
from platform_api_client.api.users import create_user, list_users
from platform_api_client.models import CreateUserRequest, UserList, ProblemDetails

client = AuthenticatedClient(base_url=sys.argv[1], token=sys.argv[2])
created = create_user.sync_detailed(client=client, body=CreateUserRequest(email="snake@example.com", name="Snake"))
listed = list_users.sync(client=client, limit=50)
assert isinstance(listed, UserList), listed
anonymous = AuthenticatedClient(base_url=sys.argv[1], token="wrong")
denied = list_users.sync(client=anonymous)
assert isinstance(denied, ProblemDetails), denied
print(json.dumps({
    "created": int(created.status_code),
    "names": [u.name for u in listed.data],
    "next_cursor": listed.next_cursor,
    "denied": denied.code,
}))
`;
    const { stdout } = await run(join(VENV, 'bin/python'), ['-c', code, live.url, tenant.key]);
    expect(JSON.parse(stdout)).toEqual({
      created: 201,
      names: ['Python', 'Snake'],
      next_cursor: null,
      denied: 'invalid_credentials',
    });
  });
});
