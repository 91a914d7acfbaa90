import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderErrorTable, withSection } from './reference.js';

/** Regenerates the generated sections of the docs: `pnpm --filter @platform/api docs`. */
function writeDocs(): void {
  const apiDoc = new URL('../../../../docs/api.md', import.meta.url);
  writeFileSync(apiDoc, withSection(readFileSync(apiDoc, 'utf8'), 'error-codes', renderErrorTable()));
  // The reference page, as the API serves it at /docs (built from the spec by `generate`).
  copyFileSync(
    new URL('../../openapi/reference.html', import.meta.url),
    new URL('../../../../docs/api-reference.html', import.meta.url),
  );
}

// Only when run as the docs command: importing it (a deployed image resolving its modules) writes nothing.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeDocs();
