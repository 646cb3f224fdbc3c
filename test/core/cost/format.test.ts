import { describe, expect, it } from 'vitest';
import {
  buildCostTable,
  costTableRows,
  formatCents,
  formatMoney,
  formatQuantity,
  formatUnitPrice,
  renderCostTable,
} from '../../../src/core/cost/format.js';
import { estimateMonthlyCost } from '../../../src/core/cost/model.js';
import { resolveRegionPrices } from '../../../src/core/cost/prices.js';

describe('money and numbers', () => {
  it('formats money with separators and two decimals', () => {
    expect(formatMoney(1304)).toBe('$1,304.00');
    expect(formatMoney(219.7)).toBe('$219.70');
    expect(formatMoney(0)).toBe('$0.00');
    expect(formatMoney(1234567.891)).toBe('$1,234,567.89');
    expect(formatMoney(-0.05)).toBe('-$0.05');
    expect(formatCents(130400)).toBe('$1,304.00');
    expect(formatCents(5n)).toBe('$0.05');
    expect(() => formatMoney(Number.NaN)).toThrow(RangeError);
  });

  it('formats unit prices with all their decimals, at least two', () => {
    expect(formatUnitPrice(0.3)).toBe('$0.30');
    expect(formatUnitPrice(0.025)).toBe('$0.025');
    expect(formatUnitPrice(0.0000133334)).toBe('$0.0000133334');
    expect(formatUnitPrice(1)).toBe('$1.00');
  });

  it('formats quantities', () => {
    expect(formatQuantity(1024)).toBe('1,024');
    expect(formatQuantity('20480')).toBe('20,480');
    expect(formatQuantity(0.5)).toBe('0.5');
    expect(formatQuantity(1.23456, 4)).toBe('1.2346');
  });
});

describe('the table', () => {
  const input = {
    region: 'ap-southeast-2',
    protocols: ['SFTP', 'FTPS'] as ('SFTP' | 'FTPS')[],
    endpointHoursPerMonth: 720,
    webAppsEnabled: 0,
    elasticIps: 2,
    clients: [{ name: 'acme', memoryMb: 1024, hasUpload: true, hasDownload: true, checksum: true }],
    traffic: { uploadGbPerDay: 100, downloadGbPerDay: 50, storageGb: 20480, filesPerDay: 1000 },
    daysPerMonth: 30,
    logRetentionDays: 30,
  };
  const prices = resolveRegionPrices('ap-southeast-2');

  it('with --article-scope: one section and the article total', () => {
    const e = estimateMonthlyCost(input, prices, { articleScope: true });
    const rows = costTableRows(e);
    expect(rows[0]).toEqual(['Item', 'Quantity', 'Unit price', 'Calculation', 'Monthly']);
    expect(rows[1]).toEqual(['SFTP endpoint', '720 h', '$0.30', '$0.30 × 24 × 30', '$216.00']);
    expect(rows.at(-1)).toEqual(['Total monthly bill', '', '', '', '$1,304.00']);
    expect(buildCostTable(e).sections).toHaveLength(1);
    expect(rows.every((r) => r.length === 5)).toBe(true);
  });

  it('full model: article and platform sections with subtotals that add up', () => {
    const e = estimateMonthlyCost(input, prices, { articleScope: false });
    const table = buildCostTable(e);
    expect(table.sections.map((s) => s.rows.length)).toEqual([e.articleItems.length, e.extraItems.length]);
    expect(table.sections[0]?.subtotal.at(-1)).toBe('$1,304.00');
    expect(table.sections[1]?.subtotal.at(-1)).toBe(formatCents(e.cents.extra));
    expect(table.total.at(-1)).toBe(formatCents(e.cents.total));
    expect(table.footnotes[0]).toContain(e.priceVersion);
    expect(table.footnotes.length).toBe(1 + e.assumptions.length);
    const text = renderCostTable(e);
    expect(text.some((l) => l.includes('Total monthly bill') && l.endsWith(formatCents(e.cents.total)))).toBe(true);
    // no ANSI colour codes
    expect(text.join('\n')).not.toContain('\u001b[');
  });
});
