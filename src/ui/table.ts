import { visibleLength } from './colors.js';

/** A plain text table: header, a rule, rows; columns padded to the widest cell. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { align?: ('left' | 'right')[] } = {},
): string {
  const widths = header.map((cell, column) =>
    Math.max(visibleLength(cell), ...rows.map((row) => visibleLength(row[column] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => {
        const pad = ' '.repeat(Math.max(0, (widths[column] ?? 0) - visibleLength(cell)));
        return options.align?.[column] === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '─'.repeat(width))), ...rows.map(line)].join('\n');
}
