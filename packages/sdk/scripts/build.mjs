// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with its .d.ts files, with tsc.
// dist/cjs/package.json marks its .js and .d.ts files as CommonJS for Node.js and TypeScript.
// First, src/version.ts is brought in line with package.json (which `changeset version` bumps).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const { version } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const versionFile = `${root}/src/version.ts`;
const versionSource = `/** The SDK's version (kept equal to package.json's by the build and a test). */
export const VERSION = '${version}';
`;
if (readFileSync(versionFile, 'utf8') !== versionSource) {
  writeFileSync(versionFile, versionSource);
  console.error(`build: src/version.ts set to ${version}`);
}

rmSync(`${root}/dist`, { recursive: true, force: true });
for (const project of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
}
mkdirSync(`${root}/dist/cjs`, { recursive: true });
writeFileSync(`${root}/dist/cjs/package.json`, `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
console.error('build: dist/esm and dist/cjs');
