import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from './support/env.js';

/** The budget of the JavaScript a first visit loads, gzipped. */
const INITIAL_JS_BUDGET = 200 * 1024;

describe('the production build', () => {
  const html = readFileSync(join(CONSOLE_DIST, 'index.html'), 'utf8');

  it(`loads at most ${INITIAL_JS_BUDGET / 1024} KB of JavaScript, gzipped, on a first visit`, () => {
    const scripts = [
      ...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g),
      ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
    ].map((m) => m[1] as string);
    expect(scripts.length).toBeGreaterThan(0);
    let gzipped = 0;
    for (const src of scripts) {
      expect(src.startsWith('/console/assets/'), src).toBe(true);
      gzipped += gzipSync(readFileSync(join(CONSOLE_DIST, src.replace('/console/', ''))), {
        level: 9,
      }).length;
    }
    console.log(
      `console: initial JavaScript ${(gzipped / 1024).toFixed(1)} KB gzipped (${scripts.length} file(s))`,
    );
    expect(gzipped).toBeLessThanOrEqual(INITIAL_JS_BUDGET);
  });

  it('references nothing outside its own origin, and has no inline script', () => {
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    for (const file of readdirSync(join(CONSOLE_DIST, 'assets'))) {
      if (!file.endsWith('.css')) continue;
      expect(readFileSync(join(CONSOLE_DIST, 'assets', file), 'utf8')).not.toMatch(
        /url\((['"])?(https?:)?\/\//,
      );
    }
  });
});
