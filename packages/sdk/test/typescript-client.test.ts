import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveApi, type LiveTenant, startLiveApi } from './support/live-api.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const SPEC = join(ROOT, '../../services/api/openapi/openapi.json');
const BIN = join(ROOT, 'node_modules/.bin');

/** A client of its own, as a team would use it: only the generated files and this program. */
const PROGRAM = `
import { createClient } from './client/client/index.js';
import { createUser, listUsers, queryEvents } from './client/sdk.gen.js';
import type { ProblemDetails, UserList } from './client/types.gen.js';

declare const process: { argv: string[] };
const [url, key] = process.argv.slice(2) as [string, string];
const client = createClient({ baseUrl: url, auth: key });
const created = await createUser({ client, body: { email: 'hey@example.com', name: 'Hey' } });
const listed = await listUsers({ client, query: { limit: 50 } });
const users: UserList | undefined = listed.data;
const events = await queryEvents({ client, query: { from: new Date(Date.now() - 3_600_000).toISOString() } });
const anonymous = createClient({ baseUrl: url, auth: 'wrong' });
const denied = await listUsers({ client: anonymous });
const problem: ProblemDetails | undefined = denied.error;
console.log(JSON.stringify({
  created: created.response?.status,
  location: created.response?.headers.get('location')?.startsWith('/v1/users/'),
  names: users?.data.map((u) => u.name),
  events: events.data?.data.length,
  denied: [denied.response?.status, problem?.code],
}));
`;

let out: string;
let generated: { stdout: string; stderr: string };
let live: LiveApi;
let tenant: LiveTenant;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'sdk-openapi-ts-'));
  generated = await run(
    join(BIN, 'openapi-ts'),
    ['-i', SPEC, '-o', join(out, 'client'), '-c', '@hey-api/client-fetch', '--no-log-file'],
    { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(out, 'main.ts'), PROGRAM);
  writeFileSync(
    join(out, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        types: [],
        strict: true,
        skipLibCheck: false,
        outDir: 'dist',
      },
      include: ['main.ts', 'client/**/*.ts'],
    }),
  );
  live = await startLiveApi();
  tenant = await live.createTenant();
  await tenant.client.users.create({ email: 'ts@example.com', name: 'TypeScript' });
}, 120_000);
afterAll(async () => {
  await live?.stop();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('a TypeScript client generated from the spec (@hey-api/openapi-ts)', () => {
  it('generates without warnings or errors', () => {
    const output = `${generated.stdout}\n${generated.stderr}`;
    expect(output, output).not.toMatch(/warn|error|skipp/i);
  });

  it('compiles (strict) and makes authenticated calls to the live API', async () => {
    await run(join(BIN, 'tsc'), ['-p', join(out, 'tsconfig.json')]);
    const { stdout } = await run(process.execPath, [join(out, 'dist/main.js'), live.url, tenant.key]);
    expect(JSON.parse(stdout)).toEqual({
      created: 201,
      location: true,
      names: ['TypeScript', 'Hey'],
      events: 0,
      denied: [401, 'invalid_credentials'],
    });
  }, 120_000);
});
