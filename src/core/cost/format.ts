/**
 * Pure formatting for `sftpctl cost`: money, unit prices, quantities and the table's rows. No colours, no
 * printing — the command hands the rows to the UI's table printer (or prints `renderCostTable`'s lines).
 */

import type { CostEstimate, LineItem } from './model.js';

const DIGIT_GROUPS = /\B(?=(\d{3})+(?!\d))/g;

/** Exact: `130400` → `$1,304.00`; negative amounts get a leading minus: `-$0.05`. */
export function formatCents(cents: number | bigint): string {
  const value = typeof cents === 'bigint' ? cents : BigInt(Math.round(cents));
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const dollars = (abs / 100n).toString().replace(DIGIT_GROUPS, ',');
  const rest = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}$${dollars}.${rest}`;
}

/** `1304` → `$1,304.00`, `219.7` → `$219.70`. Rounds to the cent (half away from zero). */
export function formatMoney(dollars: number): string {
  if (!Number.isFinite(dollars)) throw new RangeError(`not an amount of money: ${dollars}`);
  const cents = Math.sign(dollars) * Math.round(Math.abs(dollars) * 100 + 1e-7);
  return formatCents(cents);
}

const unitPriceFormat = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 12,
  useGrouping: true,
});

/** A unit price with as many decimals as it has, never fewer than two: `$0.30`, `$0.025`, `$0.0000133334`. */
export function formatUnitPrice(price: number): string {
  return `$${unitPriceFormat.format(price)}`;
}

/**
 * A quantity with thousands separators and at most `maxFractionDigits` decimals, trailing zeros dropped:
 * `1024` → `1,024`, `0.5` → `0.5`. Accepts a number or a plain decimal string (`'12345.678'`).
 */
export function formatQuantity(quantity: number | string, maxFractionDigits = 2): string {
  const value = typeof quantity === 'string' ? Number(quantity) : quantity;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: maxFractionDigits, useGrouping: true }).format(value);
}

export type Align = 'left' | 'right';

export interface CostTableSection {
  title: string;
  rows: string[][];
  /** The section's subtotal row, in the same columns as `rows`. */
  subtotal: string[];
}

export interface CostTable {
  header: string[];
  align: Align[];
  sections: CostTableSection[];
  /** The grand-total row. */
  total: string[];
  /** Lines to print under the table: provenance of the prices and every assumption. */
  footnotes: string[];
}

export const COST_TABLE_HEADER = ['Item', 'Quantity', 'Unit price', 'Calculation', 'Monthly'];
const ALIGN: Align[] = ['left', 'right', 'right', 'left', 'right'];

function row(item: LineItem): string[] {
  return [
    item.label,
    // "280 × 1k requests" when the unit is a batch, "720 h" otherwise
    `${formatQuantity(item.quantity, 4)}${/^\d/.test(item.unit) ? ' × ' : ' '}${item.unit}`,
    formatUnitPrice(item.unitPrice),
    item.formula,
    formatCents(item.monthlyCents),
  ];
}

/** The estimate as a table: the article's items, then (unless `--article-scope`) the platform's, then the total. */
export function buildCostTable(estimate: CostEstimate): CostTable {
  const sections: CostTableSection[] = [
    {
      title: "The article's items (Transfer Family endpoints and data, S3 storage, web apps)",
      rows: estimate.articleItems.map(row),
      subtotal: ["Subtotal, the article's items", '', '', '', formatCents(estimate.cents.article)],
    },
  ];
  if (!estimate.articleScope) {
    sections.push({
      title: 'What the article leaves out and this platform uses',
      rows: estimate.extraItems.map(row),
      subtotal: ['Subtotal, platform items', '', '', '', formatCents(estimate.cents.extra)],
    });
  }
  const footnotes = [
    `Prices: ${estimate.region}, table ${estimate.priceVersion}, taken on ${estimate.takenOn} (${estimate.priceSource}). ` +
      'Prices drift: check them with the AWS Pricing Calculator.',
    ...estimate.assumptions.map((a) => `- ${a}`),
  ];
  return {
    header: [...COST_TABLE_HEADER],
    align: [...ALIGN],
    sections,
    total: ['Total monthly bill', '', '', '', formatCents(estimate.cents.total)],
    footnotes,
  };
}

/** The table flattened to rows: header, each section's rows and subtotal, the total. */
export function costTableRows(estimate: CostEstimate): string[][] {
  const table = buildCostTable(estimate);
  const rows: string[][] = [table.header];
  for (const section of table.sections) rows.push(...section.rows, section.subtotal);
  rows.push(table.total);
  return rows;
}

/** The table as plain aligned text lines (no colours), for printers without a table widget and for tests. */
export function renderCostTable(estimate: CostEstimate): string[] {
  const table = buildCostTable(estimate);
  const all = [table.header, ...table.sections.flatMap((s) => [...s.rows, s.subtotal]), table.total];
  const widths = table.header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (table.align[c] === 'right' ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(table.header), rule];
  for (const section of table.sections) {
    out.push(section.title);
    out.push(...section.rows.map(line), line(section.subtotal), '');
  }
  out.push(rule, line(table.total), '', ...table.footnotes);
  return out;
}
