export type Cell = string | number | boolean | null | undefined;

function show(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) < 10 ? value.toFixed(3) : value.toFixed(1);
  }
  return String(value);
}

/** Prints rows as an aligned text table (numbers right-aligned) under a title. */
export function printTable(title: string, rows: ReadonlyArray<Record<string, Cell>>): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => show(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] !== 'string'));
  const line = (values: string[]) =>
    `| ${values.map((v, i) => (numeric[i] ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const out = [`\n${title}`, line(columns), rule, ...cells.map(line)];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Progress and diagnostics go to stderr so that stdout carries only the result tables. */
export function note(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
