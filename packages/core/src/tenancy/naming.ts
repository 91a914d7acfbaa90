import { ValidationError } from '../errors.js';

/**
 * The only place that derives database schema and Kubernetes namespace names. They come from a
 * validated slug, never from raw input.
 */
export const SLUG_PATTERN = '^[a-z][a-z0-9-]{1,38}[a-z0-9]$';
const SLUG_RE = new RegExp(SLUG_PATTERN);

export function isValidSlug(slug: string): boolean {
  return SLUG_RE.test(slug);
}

export function assertValidSlug(slug: string): void {
  if (!isValidSlug(slug)) {
    throw new ValidationError('Invalid tenant slug', [
      {
        field: 'body.slug',
        message: `must match ${SLUG_PATTERN}: 3-40 lowercase letters, digits and hyphens, starting with a letter`,
      },
    ]);
  }
}

/** `acme-corp` -> `tenant_acme_corp`. Hyphens become underscores so the name needs no quoting by humans. */
export function schemaForSlug(slug: string): string {
  assertValidSlug(slug);
  return `tenant_${slug.replaceAll('-', '_')}`;
}

/** `acme-corp` -> `tenant-acme-corp` (a valid DNS-1123 label: at most 47 characters). */
export function namespaceForSlug(slug: string): string {
  assertValidSlug(slug);
  return `tenant-${slug}`;
}
