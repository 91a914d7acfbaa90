import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

describe('OpenAPI spec', () => {
  it('matches a fresh generation from the controllers (the committed spec has not drifted)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'spec-'));
    const config = JSON.parse(await readFile(join(root, 'tsoa.json'), 'utf8'));
    config.spec.outputDirectory = out;
    const configPath = join(out, 'tsoa.json');
    await writeFile(configPath, JSON.stringify(config));
    await promisify(execFile)(join(root, 'node_modules/.bin/tsoa'), ['spec', '-c', configPath], {
      cwd: root,
    });
    const fresh = await readFile(join(out, 'openapi.json'), 'utf8');
    const committed = await readFile(join(root, 'openapi/openapi.json'), 'utf8');
    expect(
      JSON.parse(committed),
      'openapi.json is stale: run `pnpm --filter @platform/api generate`',
    ).toEqual(JSON.parse(fresh));
  });

  it('has a readable operation id on every operation, unique across the spec', async () => {
    const spec = JSON.parse(await readFile(join(root, 'openapi/openapi.json'), 'utf8'));
    const ids: string[] = [];
    for (const ops of Object.values<Record<string, { operationId?: string }>>(spec.paths)) {
      for (const op of Object.values(ops)) ids.push(op.operationId ?? '');
    }
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
