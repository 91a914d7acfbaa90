import { TENANT_SLUG_PATTERN } from '@platform/sdk';
import { describe, expect, it } from 'vitest';
import { slugProblem } from '../src/slug.js';

describe('slug validation as you type', () => {
  it('agrees with the API rule on every sample, and says what is wrong', () => {
    const rule = new RegExp(TENANT_SLUG_PATTERN);
    const samples = [
      'acme',
      'ab',
      'a-b',
      'acme-corp-2',
      '1acme',
      'Acme',
      'acme-',
      'ac_me',
      'a'.repeat(40),
      'a'.repeat(41),
    ];
    for (const slug of samples) expect(slugProblem(slug) === undefined, slug).toBe(rule.test(slug));
    expect(slugProblem('1acme')).toBe('Must start with a lowercase letter.');
    expect(slugProblem('acme-')).toBe('Must not end with a hyphen.');
    expect(slugProblem('ac_me')).toBe('Only lowercase letters, digits and hyphens.');
    expect(slugProblem('ab')).toBe('At least 3 characters.');
    expect(slugProblem('')).toBeUndefined();
  });
});
