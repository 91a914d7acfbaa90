import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveApi, type LiveTenant, startLiveApi } from './support/live-api.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'node_modules/.bin');

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

let work: string;
let tarball: string;
let packed: PackResult;
let published: PackResult;
let publishLog: string;
let live: LiveApi;
let tenant: LiveTenant;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sdk-pack-'));
  // What a release would upload: `npm publish --dry-run` runs the `prepack` script (a fresh build
  // of dist/) and lists the files. With no credentials (empty user and global npmrc) and a registry
  // that nothing listens on, it fails if a dry run needed a login or the registry.
  const userNpmrc = join(work, 'user.npmrc');
  const globalNpmrc = join(work, 'global.npmrc');
  writeFileSync(userNpmrc, '');
  writeFileSync(globalNpmrc, '');
  const registry = `http://127.0.0.1:${await freePort()}/`;
  const dryRun = await run('npm', ['publish', '--dry-run', '--json', '--registry', registry], {
    cwd: ROOT,
    env: { ...process.env, npm_config_userconfig: userNpmrc, npm_config_globalconfig: globalNpmrc },
    maxBuffer: 16 * 1024 * 1024,
  });
  published = (JSON.parse(dryRun.stdout) as Record<string, PackResult>)['@platform/sdk'] as PackResult;
  publishLog = dryRun.stderr;
  // The tarball of that build.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  packed = (JSON.parse(stdout) as PackResult[])[0] as PackResult;
  tarball = join(work, packed.filename);
  live = await startLiveApi();
  tenant = await live.createTenant();
  await tenant.client.users.create({ email: 'packed@example.com', name: 'Packed' });
});
afterAll(async () => {
  await live?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every file `package.json` points a consumer at (main, module, types, each `exports` target). */
function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const targets: string[] = [];
  const walk = (value: unknown) => {
    if (typeof value === 'string') targets.push(value.replace(/^\.\//, ''));
    else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v);
  };
  walk([pkg.main, pkg.module, pkg.types, pkg.exports]);
  return [...new Set(targets)].sort();
}

describe('npm publish --dry-run', () => {
  it('needs no login and no registry, with restricted access', () => {
    expect(publishLog).toContain('(dry-run)');
    expect(publishLog).toMatch(/with tag latest and restricted access \(dry-run\)/);
    expect(published).toMatchObject({ name: '@platform/sdk' });
  });

  it('would publish every entry point with its types, and no sources, tests or source maps', () => {
    const paths = published.files.map((f) => f.path);
    expect(entryPoints()).toEqual([
      'dist/cjs/index.d.ts',
      'dist/cjs/index.js',
      'dist/esm/index.d.ts',
      'dist/esm/index.js',
      'package.json',
    ]);
    for (const entry of entryPoints()) expect(paths, entry).toContain(entry);
    for (const js of paths.filter((p) => p.endsWith('.js')))
      expect(paths, `${js} without its types`).toContain(js.replace(/\.js$/, '.d.ts'));
    expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    expect(paths.filter((p) => !/\.(js|d\.ts)$/.test(p) && p !== 'dist/cjs/package.json').sort()).toEqual([
      'README.md',
      'package.json',
    ]);
  });

  it('would publish what `npm pack` packs', () => {
    expect(packed.files.map((f) => f.path).sort()).toEqual(published.files.map((f) => f.path).sort());
  });
});

describe('the npm package', () => {
  it('holds only dist/, the README and package.json; ESM and CJS builds with types', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    expect(paths).toEqual(
      expect.arrayContaining([
        'dist/esm/index.js',
        'dist/esm/index.d.ts',
        'dist/cjs/index.js',
        'dist/cjs/index.d.ts',
        'dist/cjs/package.json',
      ]),
    );
    expect(paths.some((p) => p.endsWith('.map') || p.startsWith('src/') || p.startsWith('test/'))).toBe(
      false,
    );
  });

  it('passes publint (strict) and are-the-types-wrong', async () => {
    const publint = await run(join(BIN, 'publint'), ['run', tarball, '--strict'], { cwd: work });
    expect(publint.stdout).toContain('All good');
    const attw = await run(join(BIN, 'attw'), [tarball, '--profile', 'strict', '--format', 'json'], {
      cwd: work,
    });
    const report = JSON.parse(attw.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
  });

  it('installs offline into a scratch project and works from import and require', async () => {
    const project = join(work, 'scratch');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
    await run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: project,
    });
    const script = (load: string) => `${load}
      const client = new PlatformClient({ apiKey: process.env.KEY, baseUrl: process.env.URL });
      const names = [];
      for await (const user of client.users.list()) names.push(user.name);
      const missing = await client.users.get('00000000-0000-4000-8000-000000000000').catch((e) => e);
      console.log(JSON.stringify({
        names,
        notFound: missing instanceof NotFoundError && missing instanceof PlatformError,
        status: missing.status,
      }));`;
    writeFileSync(
      join(project, 'esm.mjs'),
      script("import { NotFoundError, PlatformClient, PlatformError } from '@platform/sdk';"),
    );
    writeFileSync(
      join(project, 'cjs.cjs'),
      `(async () => {${script("const { NotFoundError, PlatformClient, PlatformError } = require('@platform/sdk');")}
      })();`,
    );
    const env = { ...process.env, KEY: tenant.key, URL: live.url };
    for (const file of ['esm.mjs', 'cjs.cjs']) {
      const { stdout } = await run(process.execPath, [file], { cwd: project, env });
      expect(JSON.parse(stdout), file).toEqual({ names: ['Packed'], notFound: true, status: 404 });
    }
    // require() gets the CommonJS build, import the ES module build
    const which = await run(process.execPath, ['-e', "console.log(require.resolve('@platform/sdk'))"], {
      cwd: project,
    });
    expect(which.stdout.trim()).toMatch(/node_modules\/@platform\/sdk\/dist\/cjs\/index\.js$/);
    const imported = await run(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('@platform/sdk'))"],
      { cwd: project },
    );
    expect(imported.stdout.trim()).toMatch(/node_modules\/@platform\/sdk\/dist\/esm\/index\.js$/);
  });
});
