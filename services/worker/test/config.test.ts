import { describe, expect, it } from 'vitest';
import { ConfigError, loadWorkerConfig } from '../src/config.js';

const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', REDIS_URL: 'redis://127.0.0.1:6379/0' };

describe('worker configuration: tenant egress', () => {
  it('allows tenant pods the cluster DNS only by default', () => {
    expect(loadWorkerConfig(base).kubernetes.egressCidrs).toEqual([]);
  });

  it('parses TENANT_EGRESS_CIDRS as a comma-separated list of IPv4 and IPv6 CIDRs', () => {
    const config = loadWorkerConfig({ ...base, TENANT_EGRESS_CIDRS: ' 203.0.113.0/24, 2001:db8::/32 ,' });
    expect(config.kubernetes.egressCidrs).toEqual(['203.0.113.0/24', '2001:db8::/32']);
  });

  it('refuses an entry that is not a CIDR, naming the variable', () => {
    expect(() => loadWorkerConfig({ ...base, TENANT_EGRESS_CIDRS: '203.0.113.0/24,example.com' })).toThrow(
      ConfigError,
    );
    expect(() => loadWorkerConfig({ ...base, TENANT_EGRESS_CIDRS: '10.0.0.1' })).toThrow(
      /TENANT_EGRESS_CIDRS/,
    );
  });
});

describe('worker configuration: database roles and dead letters', () => {
  it('uses DATABASE_URL for everything unless DATABASE_OWNER_URL is set', () => {
    expect(loadWorkerConfig(base)).toMatchObject({ databaseOwnerUrl: undefined, databaseOwnerPoolMax: 2 });
    expect(loadWorkerConfig({ ...base, DATABASE_OWNER_URL: '' }).databaseOwnerUrl).toBeUndefined();
    const owner = 'postgres://owner:p@127.0.0.1:5432/db';
    expect(loadWorkerConfig({ ...base, DATABASE_OWNER_URL: owner }).databaseOwnerUrl).toBe(owner);
    expect(() => loadWorkerConfig({ ...base, DATABASE_OWNER_URL: 'mysql://x' })).toThrow(
      /DATABASE_OWNER_URL/,
    );
  });

  it('bounds dead-letter lists at DEAD_LETTER_MAX_LENGTH (10000 by default, at least 1)', () => {
    expect(loadWorkerConfig(base).deadLetterMaxLength).toBe(10_000);
    expect(loadWorkerConfig({ ...base, DEAD_LETTER_MAX_LENGTH: '50' }).deadLetterMaxLength).toBe(50);
    expect(() => loadWorkerConfig({ ...base, DEAD_LETTER_MAX_LENGTH: '0' })).toThrow(
      /DEAD_LETTER_MAX_LENGTH/,
    );
  });
});

describe('worker configuration: pg_partman maintenance', () => {
  it('bounds a pass to 600 s by default, and to at most 840 s (its lock and task timeout are 15 min)', () => {
    expect(loadWorkerConfig(base).maintenanceMaxSeconds).toBe(600);
    expect(loadWorkerConfig({ ...base, MAINTENANCE_MAX_S: '120' }).maintenanceMaxSeconds).toBe(120);
    expect(loadWorkerConfig(base).maintenanceConcurrency).toBe(2);
    expect(loadWorkerConfig({ ...base, MAINTENANCE_CONCURRENCY: '4' }).maintenanceConcurrency).toBe(4);
    expect(() => loadWorkerConfig({ ...base, MAINTENANCE_CONCURRENCY: '0' })).toThrow(
      /MAINTENANCE_CONCURRENCY/,
    );
    expect(() => loadWorkerConfig({ ...base, MAINTENANCE_MAX_S: '841' })).toThrow(/MAINTENANCE_MAX_S/);
  });
});
