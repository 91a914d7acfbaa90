// Generates src/generated/schema.ts from the API's OpenAPI document with openapi-typescript.
//   node scripts/generate.mjs           writes the file
//   node scripts/generate.mjs --stdout  prints what would be written (the drift test compares it)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

export const SPEC_PATH = 'services/api/openapi/openapi.json';
export const HEADER = `// generated from ${SPEC_PATH} by openapi-typescript — do not edit\n`;

const specUrl = new URL(`../../../${SPEC_PATH}`, import.meta.url);
const outUrl = new URL('../src/generated/schema.ts', import.meta.url);

export async function render() {
  const spec = JSON.parse(await readFile(specUrl, 'utf8'));
  const ast = await openapiTS(spec, { alphabetize: false, exportType: false, silent: true });
  return HEADER + astToString(ast);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await render();
  if (process.argv.includes('--stdout')) {
    process.stdout.write(text);
  } else {
    await writeFile(outUrl, text);
    console.log(`generate: wrote ${fileURLToPath(outUrl)}`);
  }
}
