import { ERROR_CODES } from '@platform/core';

/** Marks a generated section of a Markdown file: `<!-- generated:NAME -->` ... `<!-- /generated:NAME -->`. */
const marks = (name: string) =>
  [
    `<!-- generated:${name} (do not edit; pnpm --filter @platform/api docs) -->`,
    `<!-- /generated:${name} -->`,
  ] as const;

/** The error table of docs/api.md, from the one registry of codes (`ERROR_CODES`). */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES)
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(([code, { status, description }]) => `| ${status} | \`${code}\` | ${description} |`);
  return ['| Status | `code` | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** `text` with its section `name` replaced by `content`; throws when the markers are missing. */
export function withSection(text: string, name: string, content: string): string {
  const [start, end] = marks(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no section ${name}: add the lines\n${start}\n${end}`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}
