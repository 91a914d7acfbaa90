import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, spawnManaged, stopAllManaged } from '@platform/core/testing';
import { lexer, type Tokens } from 'marked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './helpers.js';

/**
 * The README's quick start, run as written against the real API, worker, ml-gateway, PostgreSQL
 * and Redis. Its code blocks are marked by their fence's info string:
 * - ```bash quickstart: the curl walkthrough, run in order as one bash script;
 * - ```bash quickstart-sdk and ```js quickstart-sdk <file>: the SDK walkthrough, in order as one
 *   script, a file block written where the script is at that point (as a reader saves it);
 * - ```text quickstart-sdk-output: what the SDK walkthrough prints.
 * A `# -> ` line in a bash block is what the command before it prints. In expected output, 4 digits
 * or more stand for any digits (timestamps) and `<word>` for any word (ids, keys).
 */

const run = promisify(execFile);
const README = join(REPO_ROOT, 'README.md');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** Each script's deadline, inside the test's timeout. */
const SCRIPT_TIMEOUT_MS = 240_000;

interface Block {
  tags: string[];
  text: string;
}

function readmeBlocks(): Block[] {
  return lexer(readFileSync(README, 'utf8'))
    .filter((t): t is Tokens.Code => t.type === 'code')
    .map((t) => ({ tags: (t.lang ?? '').split(/\s+/).filter(Boolean), text: t.text }));
}

function blocksTagged(tag: string): Block[] {
  return readmeBlocks().filter((b) => b.tags[1] === tag);
}

/** One bash script of the blocks, in order; a block with a file name becomes a heredoc writing it. */
function scriptOf(blocks: Block[]): string {
  return blocks
    .map((b) => {
      const [lang, , file] = b.tags;
      if (lang === 'bash') return b.text;
      if (!file) throw new Error(`a ${lang} quick-start block names no file to save it as`);
      expect(b.text).not.toContain('QUICKSTART_FILE');
      return `cat > '${file}' <<'QUICKSTART_FILE'\n${b.text}\nQUICKSTART_FILE`;
    })
    .join('\n');
}

/** `# -> ` lines of bash blocks. */
function expectedOutputs(blocks: Block[]): string[] {
  return blocks.flatMap((b) =>
    b.text
      .split('\n')
      .filter((line) => line.startsWith('# -> '))
      .map((line) => line.slice('# -> '.length)),
  );
}

/** An expected output line as a pattern: 4 digits or more stand for any digits, `<word>` for any word. */
function outputPattern(line: string): RegExp {
  const parts = line.split(/(<[a-z-]+>|\d{4,})/);
  const source = parts
    .map((part, i) => {
      if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return part.startsWith('<') ? '\\S+?' : '\\d+';
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** Every expected line matches a line of the output, in order. */
function expectOutputs(output: string, expected: string[]): void {
  const lines = output.split('\n');
  let at = 0;
  for (const line of expected) {
    const pattern = outputPattern(line);
    const found = lines.findIndex((l, i) => i >= at && pattern.test(l));
    expect(
      found,
      `README output "${line}" not printed (after line ${at}) in:\n${output}`,
    ).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

interface ScriptResult {
  code: number | null;
  stdout: string;
  output: string;
}

/** Runs `script` with bash (`set -euo pipefail`) in its own process group, within SCRIPT_TIMEOUT_MS. */
async function runBash(script: string, cwd: string, env: Record<string, string>): Promise<ScriptResult> {
  const file = join(work, `script-${Date.now()}.sh`);
  writeFileSync(file, `set -euo pipefail\n${script}\n`);
  const proc = spawnManaged('bash', ['--noprofile', '--norc', file], env, cwd);
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  // 'close': the process has exited and its output has been read to the end.
  const exited = once(proc.child, 'close');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), SCRIPT_TIMEOUT_MS);
  });
  try {
    if ((await Promise.race([exited, timedOut])) === 'timeout') {
      await proc.stop('SIGKILL');
      throw new Error(`the script ran past ${SCRIPT_TIMEOUT_MS} ms:\n${proc.output()}`);
    }
  } finally {
    clearTimeout(timer);
  }
  await proc.stop();
  return { code: proc.child.exitCode, stdout, output: proc.output() };
}

/** jq, as the curl walkthrough needs (installed with apt when missing, as Chromium is for the browser tests). */
function ensureJq(): void {
  try {
    execFileSync('jq', ['--version'], { stdio: 'ignore' });
    return;
  } catch {
    // missing: install it
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['-q', '-y', 'update'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['-q', '-y', '--no-install-recommends', 'install', 'jq'], { env, stdio: 'ignore' });
}

const trackedFiles = () =>
  execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });

let stack: TestApi;
let work: string;
/** The scripts' HOME: `~/platform-quickstart` is the test's own. */
let home: string;
let scriptEnv: Record<string, string>;

beforeAll(async () => {
  ensureJq();
  work = mkdtempSync(join(tmpdir(), 'quickstart-'));
  home = join(work, 'home');
  mkdirSync(home);
  stack = await startTestApi();
  scriptEnv = {
    API_URL: stack.api.url,
    ADMIN_TOKEN,
    HOME: home,
    // Nothing is fetched: the SDK has no runtime dependencies.
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}, 300_000);

afterAll(async () => {
  await stopAllManaged();
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the README quick start', () => {
  it('has curl blocks, SDK blocks with a file to save, and the SDK output', () => {
    expect(blocksTagged('quickstart').length).toBeGreaterThanOrEqual(2);
    const sdk = blocksTagged('quickstart-sdk');
    expect(sdk.map((b) => b.tags[0])).toEqual(['bash', 'js', 'bash']);
    expect(sdk[1]?.tags[2]).toBe('quickstart.mjs');
    expect(blocksTagged('quickstart-sdk-output')).toHaveLength(1);
  });

  it('with curl: a ready tenant, a key, a user, two events read back and a succeeded prediction', async () => {
    const blocks = blocksTagged('quickstart');
    const state = join(work, 'curl-state.json');
    // What the walkthrough made, for the checks below (an unset variable fails the script).
    const trailer = `jq -n --arg tenant "$TENANT_ID" --arg key "$API_KEY" --arg user "$USER_ID" \
      --arg prediction "$PREDICTION_ID" '{$tenant, $key, $user, $prediction}' > '${state}'`;
    const result = await runBash(`${scriptOf(blocks)}\n${trailer}`, REPO_ROOT, scriptEnv);
    expect(result.code, result.output).toBe(0);
    expectOutputs(result.stdout, expectedOutputs(blocks));

    const made = JSON.parse(readFileSync(state, 'utf8')) as Record<string, string>;
    const tenant = await stack.admin.get(`/v1/tenants/${made.tenant}`);
    expect(tenant.body).toMatchObject({ status: 'ready' });
    const client = stack.anonymous.as(made.key);
    const user = await client.get(`/v1/users/${made.user}`);
    expect(user.body).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace' });
    const events = await client.get<{ data: Array<Record<string, unknown>> }>('/v1/events');
    expect(events.body.data.map((e) => [e.type, e.user_id]).sort()).toEqual([
      ['page.viewed', made.user],
      ['signup', made.user],
    ]);
    const prediction = await client.get(`/v1/predictions/${made.prediction}`);
    expect(prediction.body).toMatchObject({
      status: 'succeeded',
      output: { predictions: ['setosa', 'virginica'] },
    });
  }, 300_000);

  it('with the SDK from a pnpm pack tarball: the same flow, type-checked, and what the README shows', async () => {
    const before = trackedFiles();
    const result = await runBash(scriptOf(blocksTagged('quickstart-sdk')), REPO_ROOT, scriptEnv);
    expect(result.code, result.output).toBe(0);
    const shown = blocksTagged('quickstart-sdk-output')[0]?.text ?? '';
    expectOutputs(result.stdout, shown.split('\n'));
    // Packing builds the SDK: that changes no tracked file.
    expect(trackedFiles()).toBe(before);

    // The installed package is the built one: its dist with types, no sources, no workspace ranges.
    const app = join(home, 'platform-quickstart');
    const installed = join(app, 'node_modules/@platform/sdk');
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json']);
    expect(readFileSync(join(installed, 'package.json'), 'utf8')).not.toContain('workspace:');
    expect(existsSync(join(installed, 'dist/esm/index.d.ts'))).toBe(true);

    // The script type-checks against the package's declarations.
    const check = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--allowJs',
        '--checkJs',
        '--strict',
        '--module',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        join(REPO_ROOT, 'node_modules/@types'),
        'quickstart.mjs',
      ],
      { cwd: app },
    ).catch((err: { stdout?: string; message: string }) => ({
      stdout: err.stdout ?? err.message,
      failed: true,
    }));
    expect(check, check.stdout).not.toHaveProperty('failed');

    // And the platform holds what it printed.
    const slug = /^tenant (\S+) ready$/m.exec(result.stdout)?.[1];
    expect(slug).toBeDefined();
    const tenants = await stack.admin.get<{ data: Array<{ id: string; slug: string; status: string }> }>(
      `/v1/tenants?slug=${slug}`,
    );
    const tenant = tenants.body.data.find((t) => t.slug === slug);
    expect(tenant?.status).toBe('ready');
    const key = await stack.admin.post<{ key: string }>(`/v1/tenants/${tenant?.id}/api-keys`, {
      name: 'check',
      scopes: ['read'],
    });
    const client = stack.anonymous.as(key.body.key);
    const users = await client.get<{ data: Array<{ email: string }> }>('/v1/users');
    expect(users.body.data.map((u) => u.email)).toEqual(['grace@example.com']);
    const predictions = await client.get<{ data: Array<Record<string, unknown>> }>('/v1/predictions');
    expect(predictions.body.data).toHaveLength(1);
    expect(predictions.body.data[0]).toMatchObject({
      status: 'succeeded',
      output: { predictions: ['setosa'] },
    });
  }, 300_000);
});
