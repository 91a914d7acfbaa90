import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '@platform/core/testing';
import { describe, expect, it } from 'vitest';
import { renderErrorTable, withSection } from '../src/docs/reference.js';

const read = (path: string) => readFileSync(`${REPO_ROOT}/${path}`, 'utf8');

describe('the docs generated from the code are current (else: pnpm --filter @platform/api docs)', () => {
  it('docs/api.md lists every error code of the registry, and no other', () => {
    const doc = read('docs/api.md');
    expect(doc).toBe(withSection(doc, 'error-codes', renderErrorTable()));
    expect(doc).toContain('`kubernetes_not_configured`');
  });
});
