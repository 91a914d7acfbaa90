import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { renderErrorTable, withSection } from './reference.js';

/** Regenerates the generated sections of the docs: `pnpm --filter @platform/api docs`. */
const apiDoc = new URL('../../../../docs/api.md', import.meta.url);
writeFileSync(apiDoc, withSection(readFileSync(apiDoc, 'utf8'), 'error-codes', renderErrorTable()));
// The reference page, as the API serves it at /docs (built from the spec by `generate`).
copyFileSync(
  new URL('../../openapi/reference.html', import.meta.url),
  new URL('../../../../docs/api-reference.html', import.meta.url),
);
