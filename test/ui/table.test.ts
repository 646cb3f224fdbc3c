import { describe, expect, it } from 'vitest';
import { createColors } from '../../src/ui/colors.js';
import { renderTable } from '../../src/ui/table.js';

const header = ['client', 'allowed IPs', 'checksum'];
const rows = [
  ['bank', '203.0.113.0/24 198.51.100.7 198.51.100.8 198.51.100.9', 'sha256'],
  ['shop', '-', 'md5'],
];

describe('renderTable', () => {
  it('keeps every cell whole without a width (piped output)', () => {
    const text = renderTable(header, rows, { width: undefined });
    expect(text).toContain(rows[0]?.[1]);
    expect(text.split('\n')[0]).toBe(`client  allowed IPs${' '.repeat(42)}  checksum`);
  });

  it('narrows the widest column to fit, cutting its cells with …', () => {
    const text = renderTable(header, rows, { width: 40 });
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(40);
    expect(text).toContain('bank    203.0.113.0/24 198.51…  sha256');
  });

  it('cuts headers too when even they do not fit, and never more than it must', () => {
    const text = renderTable(['environment', 'security policy'], [['prod', 'TransferSecurityPolicy-2025-03']], {
      width: 20,
    });
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(20);
    expect(text.split('\n')[0]).toMatch(/…/);
    expect(renderTable(['a', 'b'], [['x', 'y']], { width: 80 })).toBe('a  b\n─  ─\nx  y');
  });

  it('measures coloured cells by what shows, and right-aligns numbers', () => {
    const c = createColors(true);
    const text = renderTable(
      ['name', 'n'],
      [
        [c.red('bank'), '7'],
        ['shop', '12'],
      ],
      { width: 80, align: ['left', 'right'] },
    );
    expect(text.split('\n')[2]).toBe(`${c.red('bank')}   7`);
    expect(text.split('\n')[3]).toBe('shop  12');
  });
});
