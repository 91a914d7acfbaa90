import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '@platform/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configurationSections, renderEnvTable, zodEnvVariables } from '../src/docs/configuration.js';
import { renderErrorTable, withSection } from '../src/docs/reference.js';

const read = (path: string) => readFileSync(`${REPO_ROOT}/${path}`, 'utf8');

/** The text between a generated section's markers. */
const section = (doc: string, name: string) =>
  doc.slice(doc.indexOf(`<!-- generated:${name} `), doc.indexOf(`<!-- /generated:${name} -->`));

/** The source files of `dir` (recursively), without generated code or bytecode. */
function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|tsx|mts|js|mjs|py)$/.test(f) && !/(^|\/)(generated|__pycache__)\//.test(f))
    .map((f) => join(dir, f));
}

describe('the docs generated from the code are current (else: pnpm --filter @platform/api docs)', () => {
  it('docs/api.md lists every error code of the registry, and no other', () => {
    const doc = read('docs/api.md');
    expect(doc).toBe(withSection(doc, 'error-codes', renderErrorTable()));
    expect(doc).toContain('`kubernetes_not_configured`');
  });

  it('docs/configuration.md lists every variable of each config schema, as the schema states it', async () => {
    const doc = read('docs/configuration.md');
    const sections = await configurationSections();
    expect(Object.keys(sections)).toEqual(['config-api', 'config-worker', 'config-ml-gateway', 'config-cli']);
    let expected = doc;
    for (const [name, table] of Object.entries(sections)) expected = withSection(expected, name, table);
    expect(doc).toBe(expected);
    for (const name of ['CORS_ORIGINS', 'KUBERNETES', 'KUBECONFIG', 'MAX_TENANTS']) {
      expect(section(doc, 'config-api')).toContain(`| \`${name}\` |`);
    }
    expect(section(doc, 'config-worker')).toContain('| `TENANT_EGRESS_CIDRS` | empty |');
    expect(section(doc, 'config-ml-gateway')).toContain('| `MAX_BATCH` | `1000` |');
    expect(section(doc, 'config-cli')).toContain('| `DATABASE_OWNER_URL` | none |');
  });

  it('renders defaults, requirements and constraints from a zod schema, and refuses an undescribed variable', () => {
    const schema = z
      .object({
        A: z.coerce.number().int().min(1).max(9).default(3).describe('Count'),
        B: z.string().describe('Needed'),
        C: z.enum(['on', 'off']).optional().describe('Switch'),
        D: z.string().default('').describe('List'),
      })
      .transform((env) => env);
    expect(renderEnvTable(zodEnvVariables(schema)).split('\n').slice(2)).toEqual([
      '| `A` | `3` | Count. An integer from 1 to 9 |',
      '| `B` | required | Needed |',
      '| `C` | none | Switch. One of `on`, `off` |',
      '| `D` | empty | List |',
    ]);
    expect(() => zodEnvVariables(z.object({ UNDESCRIBED: z.string() }))).toThrow(
      /UNDESCRIBED has no description/,
    );
  });

  it('no module but the config modules reads the environment', () => {
    const allowed = new Set([
      'services/api/src/config.ts',
      'services/worker/src/config.ts',
      'packages/core/src/cli/config.ts',
    ]);
    const packages = ['services', 'packages'].flatMap((top) =>
      readdirSync(join(REPO_ROOT, top)).map((name) => join(REPO_ROOT, top, name)),
    );
    const readers: string[] = [];
    for (const file of packages.flatMap((dir) => [
      ...sources(join(dir, 'src')),
      ...sources(join(dir, 'app')),
    ])) {
      const path = relative(REPO_ROOT, file);
      // Test support reads the tests' own variables (docs/configuration.md, "Development and tests").
      if (path.startsWith('packages/core/src/testing/')) continue;
      if (/process\.env|import\.meta\.env|os\.environ|os\.getenv/.test(readFileSync(file, 'utf8'))) {
        readers.push(path);
      }
    }
    expect(readers.filter((p) => !allowed.has(p))).toEqual([]);
    expect(readers.sort()).toEqual([...allowed].sort());
  });
});
