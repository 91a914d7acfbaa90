export { ensureDatabase } from '@platform/core/testing';

/** This suite's database: env TEST_DATABASE_URL, else its own (the API suite resets platform_test). */
export const DEFAULT_SDK_TEST_DATABASE_URL = 'postgres://platform:platform@127.0.0.1:5432/platform_test_sdk';

export function sdkTestDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? DEFAULT_SDK_TEST_DATABASE_URL;
}
