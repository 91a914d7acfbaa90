import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_ADMIN_TOKEN, loadConfig } from '../src/config.js';

const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1/db', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('config', () => {
  it('parses the environment with defaults', () => {
    const config = loadConfig({ ...base });
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      adminToken: DEV_ADMIN_TOKEN,
      databasePoolMax: 10,
      databaseIdleTimeoutMs: 60_000,
    });
  });

  it('refuses the development admin token, or none, in production', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(/ADMIN_TOKEN: is required/);
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', ADMIN_TOKEN: DEV_ADMIN_TOKEN })).toThrow(
      /ADMIN_TOKEN: must be a secret/,
    );
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', ADMIN_TOKEN: 'short' })).toThrow(ConfigError);
    const ok = loadConfig({ ...base, NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(40) });
    expect(ok.adminToken).toBe('x'.repeat(40));
  });

  it('lists every problem clearly', () => {
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toMatch(/PORT:/);
      expect(message).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/);
      expect(message).toMatch(/REDIS_URL:/);
    }
  });
});
