import { visibleLength } from './colors.js';

const GAP = 2;
/** A column is never squeezed below this (or its header, if shorter). */
const MIN_COLUMN = 8;
const LAST_RESORT_COLUMN = 3;
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * A plain text table: header, a rule, rows; columns padded to the widest cell. Given a `width` (the terminal's, by
 * default when stdout is one), the widest columns are narrowed until the table fits, and cells that no longer fit end
 * in "…". Piped or redirected output keeps every cell whole.
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { align?: ('left' | 'right')[]; width?: number | undefined } = {},
): string {
  const natural = header.map((cell, column) =>
    Math.max(visibleLength(cell), ...rows.map((row) => visibleLength(row[column] ?? ''))),
  );
  const width = 'width' in options ? options.width : process.stdout.isTTY ? process.stdout.columns : undefined;
  const widths = width === undefined ? natural : fitWidths(natural, header, width);
  const line = (cells: readonly string[]) =>
    cells
      .map((raw, column) => {
        const cell = truncate(raw, widths[column] ?? 0);
        const pad = ' '.repeat(Math.max(0, (widths[column] ?? 0) - visibleLength(cell)));
        return options.align?.[column] === 'right' ? pad + cell : cell + pad;
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Narrows the widest column, one character at a time, until the row fits `width`: first down to its header (or 8),
 * then, if that is not enough, down to 3 characters (headers are cut too).
 */
function fitWidths(natural: readonly number[], header: readonly string[], width: number): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((sum, w) => sum + w, 0) + GAP * Math.max(0, widths.length - 1);
  const shrink = (floor: readonly number[]) => {
    while (total() > width) {
      let widest = -1;
      for (let column = 0; column < widths.length; column++) {
        const w = widths[column] ?? 0;
        if (w > (floor[column] ?? 0) && (widest < 0 || w > (widths[widest] ?? 0))) widest = column;
      }
      if (widest < 0) return;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  };
  shrink(natural.map((w, column) => Math.min(w, Math.max(MIN_COLUMN, visibleLength(header[column] ?? '')))));
  shrink(natural.map((w) => Math.min(w, LAST_RESORT_COLUMN)));
  return widths;
}

/** Cuts a cell to `width` visible characters, ending in "…"; colours are dropped from a cut cell. */
function truncate(cell: string, width: number): string {
  if (visibleLength(cell) <= width) return cell;
  const plain = [...cell.replace(ANSI, '')];
  return width <= 1 ? plain.slice(0, width).join('') : `${plain.slice(0, width - 1).join('')}…`;
}
