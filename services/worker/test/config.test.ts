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
