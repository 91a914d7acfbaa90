import { describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/cli/config.js';

const owner = 'postgres://platform:platform@127.0.0.1:5432/platform';
const runtime = 'postgres://platform_app:platform_app@127.0.0.1:5432/platform';

describe('the CLIs’ configuration', () => {
  it('connects as the owner and grants the runtime role when both URLs are set', () => {
    expect(loadCliConfig({ DATABASE_OWNER_URL: owner, DATABASE_URL: runtime })).toEqual({
      ownerUrl: owner,
      runtimeUrl: runtime,
    });
  });

  it('uses one role for everything when only one URL is set, or both are the same', () => {
    expect(loadCliConfig({ DATABASE_URL: runtime })).toEqual({ ownerUrl: runtime, runtimeUrl: undefined });
    expect(loadCliConfig({ DATABASE_OWNER_URL: owner, DATABASE_URL: '' })).toEqual({
      ownerUrl: owner,
      runtimeUrl: undefined,
    });
    expect(loadCliConfig({ DATABASE_OWNER_URL: owner, DATABASE_URL: owner })).toEqual({
      ownerUrl: owner,
      runtimeUrl: undefined,
    });
  });

  it('refuses no URL at all, or one that is not postgres://, naming the variable', () => {
    expect(() => loadCliConfig({})).toThrow(/DATABASE_OWNER_URL: is not set \(nor DATABASE_URL\)/);
    expect(() => loadCliConfig({ DATABASE_OWNER_URL: '', DATABASE_URL: '' })).toThrow(/is not set/);
    expect(() => loadCliConfig({ DATABASE_URL: 'mysql://x' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ URL/,
    );
  });
});
