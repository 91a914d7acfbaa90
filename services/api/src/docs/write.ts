import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configurationSections } from './configuration.js';
import { renderErrorTable, withSection } from './reference.js';

const docsFile = (name: string) => new URL(`../../../../docs/${name}`, import.meta.url);

/** Regenerates the generated sections of the docs: `pnpm --filter @platform/api docs`. */
async function writeDocs(): Promise<void> {
  const apiDoc = docsFile('api.md');
  writeFileSync(apiDoc, withSection(readFileSync(apiDoc, 'utf8'), 'error-codes', renderErrorTable()));
  const configDoc = docsFile('configuration.md');
  let config = readFileSync(configDoc, 'utf8');
  for (const [name, table] of Object.entries(await configurationSections())) {
    config = withSection(config, name, table);
  }
  writeFileSync(configDoc, config);
  // The reference page, as the API serves it at /docs (built from the spec by `generate`).
  copyFileSync(new URL('../../openapi/reference.html', import.meta.url), docsFile('api-reference.html'));
}

// Only when run as the docs command: importing it (a deployed image resolving its modules) writes nothing.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await writeDocs();
