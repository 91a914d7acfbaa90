import { TENANT_SLUG_PATTERN } from '@platform/sdk';

const SLUG_RE = new RegExp(TENANT_SLUG_PATTERN);

/** Why a slug is refused, by the API's rule; undefined when it is fine. */
export function slugProblem(slug: string): string | undefined {
  if (slug === '') return undefined;
  if (slug.length < 3) return 'At least 3 characters.';
  if (slug.length > 40) return 'At most 40 characters.';
  if (!/^[a-z]/.test(slug)) return 'Must start with a lowercase letter.';
  if (/[^a-z0-9-]/.test(slug)) return 'Only lowercase letters, digits and hyphens.';
  if (slug.endsWith('-')) return 'Must not end with a hyphen.';
  return SLUG_RE.test(slug) ? undefined : `Must match ${TENANT_SLUG_PATTERN}.`;
}
