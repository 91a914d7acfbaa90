import { readFileSync, writeFileSync } from 'node:fs';
import { renderErrorTable, withSection } from './reference.js';

/** Regenerates the generated sections of the docs: `pnpm --filter @platform/api docs`. */
const apiDoc = new URL('../../../../docs/api.md', import.meta.url);
writeFileSync(apiDoc, withSection(readFileSync(apiDoc, 'utf8'), 'error-codes', renderErrorTable()));
