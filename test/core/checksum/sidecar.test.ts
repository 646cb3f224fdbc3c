import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertDigestMatches,
  checksumMismatchError,
  digestsEqual,
  formatSidecar,
  MAX_SIDECAR_BYTES,
  type ParseSidecarOptions,
  parseSidecar,
  parseSidecarLines,
} from '../../../src/core/checksum/sidecar.js';
import { SftpctlError } from '../../../src/core/errors.js';

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA256_B = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA512 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

function failure(input: string | Uint8Array, options: ParseSidecarOptions = {}): SftpctlError {
  try {
    parseSidecar(input, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SftpctlError);
    return error as SftpctlError;
  }
  throw new Error('expected parseSidecar to throw');
}

describe('parseSidecar: formats', () => {
  it('reads coreutils text mode', () => {
    expect(parseSidecar(`${SHA256}  report.csv\n`, { expectedFileName: 'report.csv' })).toEqual({
      line: 1,
      format: 'coreutils',
      hex: SHA256,
      algorithm: 'sha256',
      tag: undefined,
      fileName: 'report.csv',
      binary: false,
    });
  });

  it('reads coreutils binary mode', () => {
    const e = parseSidecar(`${MD5} *report.csv\n`, { expectedFileName: 'report.csv' });
    expect(e).toMatchObject({ algorithm: 'md5', binary: true, fileName: 'report.csv', format: 'coreutils' });
  });

  it('reads BSD `md5 -r` (one space) like coreutils does', () => {
    expect(parseSidecar(`${SHA1} report.csv`, { expectedFileName: 'report.csv' })).toMatchObject({
      algorithm: 'sha1',
      fileName: 'report.csv',
    });
  });

  it('reads BSD tagged lines and OpenSSL dgst output', () => {
    expect(parseSidecar(`SHA256 (my report.csv) = ${SHA256}\n`, { expectedFileName: 'my report.csv' })).toMatchObject({
      format: 'bsd',
      tag: 'SHA256',
      algorithm: 'sha256',
      fileName: 'my report.csv',
    });
    expect(parseSidecar(`MD5 (a.csv) = ${MD5}`)).toMatchObject({ algorithm: 'md5', fileName: 'a.csv' });
    expect(parseSidecar(`SHA2-256(a.csv)= ${SHA256}\n`)).toMatchObject({ algorithm: 'sha256', tag: 'SHA2-256' });
    expect(parseSidecar(`SHA512 (weird) = name) = ${SHA512}`)).toMatchObject({ fileName: 'weird) = name' });
  });

  it('reads bare hex, any case, with LF, CRLF or nothing after it', () => {
    for (const text of [SHA256, `${SHA256}\n`, `${SHA256}\r\n`, `${SHA256.toUpperCase()}\r\n`, `  ${SHA256} \n\n`]) {
      expect(parseSidecar(text, { expectedFileName: 'anything.bin' })).toMatchObject({
        format: 'bare',
        hex: SHA256,
        algorithm: 'sha256',
        fileName: undefined,
      });
    }
  });

  it('reads a PowerShell `(Get-FileHash f).Hash > f.sha256` file (UTF-16LE, BOM, upper case, CRLF)', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${SHA256.toUpperCase()}\r\n`, 'utf16le')]);
    expect(parseSidecar(bytes, { sidecarName: 'f.sha256' })).toMatchObject({ hex: SHA256, algorithm: 'sha256' });
  });

  it('reads UTF-8 bytes with or without a BOM', () => {
    const text = `${SHA256}  ünï 文件.csv\n`;
    for (const bytes of [Buffer.from(text), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])]) {
      expect(parseSidecar(bytes, { expectedFileName: 'ünï 文件.csv' }).fileName).toBe('ünï 文件.csv');
    }
    expect(parseSidecar(`\uFEFF${SHA256}  a`).fileName).toBe('a');
  });

  it('treats CRLF line ends as line ends, not as part of the name', () => {
    const e = parseSidecar(`${SHA256}  a b.csv\r\n`, { expectedFileName: 'a b.csv' });
    expect(e.fileName).toBe('a b.csv');
  });

  it('unescapes coreutils escaped names', () => {
    expect(parseSidecar(`\\${SHA256}  back\\\\slash\\nnew\\rcr\n`).fileName).toBe('back\\slash\nnew\rcr');
    expect(parseSidecar(`\\SHA256 (a\\\\b) = ${SHA256}\n`).fileName).toBe('a\\b');
    // Not escaped: backslashes are literal (older tools, shasum).
    expect(parseSidecar(`${SHA256}  a\\b\n`).fileName).toBe('a\\b');
  });

  it('treats the stdin name `-` as no name', () => {
    expect(parseSidecar(`${SHA256}  -\n`, { expectedFileName: 'x.csv' })).toMatchObject({ fileName: undefined });
  });

  it('keeps names with leading spaces, stars and hashes', () => {
    expect(parseSidecar(`${SHA256}   lead\n`).fileName).toBe(' lead');
    expect(parseSidecar(`${SHA256}  *star\n`).fileName).toBe('*star');
    expect(parseSidecar(`${SHA256} **star\n`)).toMatchObject({ fileName: '*star', binary: true });
    expect(parseSidecar(`${SHA256}  #hash\n`).fileName).toBe('#hash');
    // coreutils writes `<hex>   ` for a file named ` `; only one trailing blank still means a bare digest.
    expect(parseSidecar(`${SHA256}   \n`).fileName).toBe(' ');
    expect(parseSidecar(`${SHA256} \n`).format).toBe('bare');
  });

  it('skips blank lines and comments', () => {
    const text = `# made by sha256sum\n\n   \n${SHA256}  a.csv\n# end\n`;
    expect(parseSidecar(text, { expectedFileName: 'a.csv' }).line).toBe(4);
  });
});

describe('parseSidecar: choosing a line', () => {
  const manifest = [`${SHA256}  a.csv`, `${SHA256_B}  ./in/b.csv`, `${SHA256}  c d.csv`].join('\n');

  it('picks the line of the expected file by basename', () => {
    expect(parseSidecar(manifest, { expectedFileName: 'b.csv' })).toMatchObject({ hex: SHA256_B, line: 2 });
    expect(parseSidecar(manifest, { expectedFileName: '/srv/partner/in/b.csv' })).toMatchObject({ line: 2 });
    expect(parseSidecar(manifest, { expectedFileName: 'inbox/c d.csv' })).toMatchObject({ line: 3 });
  });

  it('prefers the line sharing more of the path', () => {
    const text = `${SHA256}  x/data.csv\n${SHA256_B}  y/data.csv\n`;
    expect(parseSidecar(text, { expectedFileName: '/home/u/y/data.csv' }).hex).toBe(SHA256_B);
    expect(parseSidecar(text, { expectedFileName: 'x/data.csv' }).hex).toBe(SHA256);
    const ambiguous = failure(text, { expectedFileName: 'data.csv', sidecarName: 'SHA256SUMS' });
    expect(ambiguous.code).toBe('CHECKSUM_SIDECAR_AMBIGUOUS');
    expect(ambiguous.message).toContain('lines 1, 2');
  });

  it('accepts duplicate lines that agree', () => {
    expect(parseSidecar(`${SHA256}  a\n${SHA256.toUpperCase()}  ./a\n`, { expectedFileName: 'a' }).line).toBe(1);
  });

  it('needs to know the file when the sidecar lists several', () => {
    const e = failure(manifest);
    expect(e.code).toBe('CHECKSUM_SIDECAR_AMBIGUOUS');
    expect(e.message).toContain('"a.csv"');
  });

  it('picks the requested algorithm, else the strongest, from a multi-algorithm BSD file', () => {
    const text = `MD5 (a) = ${MD5}\nSHA1 (a) = ${SHA1}\nSHA512 (a) = ${SHA512}\nSHA256 (a) = ${SHA256}\n`;
    expect(parseSidecar(text, { expectedFileName: 'a' }).algorithm).toBe('sha512');
    expect(parseSidecar(text, { expectedFileName: 'a', algorithm: 'md5' }).hex).toBe(MD5);
    expect(parseSidecar(text, { expectedFileName: 'a', sidecarName: 'a.sha256' }).hex).toBe(SHA256);
  });
});

describe('parseSidecar: errors', () => {
  it('names both files when the sidecar is for another file', () => {
    const e = failure(`${SHA256}  other.csv\n`, {
      expectedFileName: 'in/report.csv',
      sidecarName: 'report.csv.sha256',
    });
    expect(e.code).toBe('CHECKSUM_SIDECAR_NAME_MISMATCH');
    expect(e.message).toContain('"other.csv"');
    expect(e.message).toContain('"report.csv"');
    expect(e.message).toContain('"report.csv.sha256"');
    expect(e.hint).toContain('report.csv');
    const bsd = failure(`SHA256 (other.csv) = ${SHA256}`, { expectedFileName: 'report.csv' });
    expect(bsd.code).toBe('CHECKSUM_SIDECAR_NAME_MISMATCH');
  });

  it('lists some of the names when a manifest lacks the file', () => {
    const text = ['a', 'b', 'c', 'd', 'e'].map((n) => `${SHA256}  ${n}`).join('\n');
    const e = failure(text, { expectedFileName: 'z' });
    expect(e.code).toBe('CHECKSUM_SIDECAR_NAME_MISMATCH');
    expect(e.message).toContain('"a", "b", "c" and 2 more');
    expect(e.message).toContain('"z"');
  });

  it('does not match names case-insensitively or by prefix', () => {
    expect(failure(`${SHA256}  Report.csv`, { expectedFileName: 'report.csv' }).code).toBe(
      'CHECKSUM_SIDECAR_NAME_MISMATCH',
    );
    expect(failure(`${SHA256}  report.csv.bak`, { expectedFileName: 'report.csv' }).code).toBe(
      'CHECKSUM_SIDECAR_NAME_MISMATCH',
    );
  });

  it('rejects a digest whose length contradicts the given algorithm', () => {
    const e = failure(`${MD5}  a.csv`, { algorithm: 'sha256' });
    expect(e.code).toBe('CHECKSUM_ALGORITHM_MISMATCH');
    expect(e.message).toContain('32 hex digits (MD5)');
    expect(e.message).toContain('SHA-256');
    expect(e.message).toContain('64');
  });

  it('rejects a digest whose length contradicts the sidecar extension', () => {
    const e = failure(`${SHA1}\n`, { sidecarName: 'a.csv.sha256' });
    expect(e.code).toBe('CHECKSUM_ALGORITHM_MISMATCH');
    expect(e.message).toContain('"a.csv.sha256"');
    expect(e.message).toContain('its name says SHA-256');
  });

  it('rejects a BSD tag that contradicts the given algorithm', () => {
    const e = failure(`MD5 (a) = ${MD5}`, { algorithm: 'sha512' });
    expect(e.code).toBe('CHECKSUM_ALGORITHM_MISMATCH');
    expect(e.message).toContain('a MD5 checksum');
  });

  it('reports unsupported algorithms clearly', () => {
    const sha384 = 'a'.repeat(96);
    const tagged = failure(`SHA384 (a) = ${sha384}`, { sidecarName: 'a.sum' });
    expect(tagged.code).toBe('CHECKSUM_UNKNOWN_ALGORITHM');
    expect(tagged.message).toContain('SHA-384 checksums are not supported');
    expect(tagged.message).toContain('a.sum, line 1');
    expect(tagged.hint).toContain('md5, sha1, sha256, sha512');
    expect(failure(`${sha384}  a`).code).toBe('CHECKSUM_UNKNOWN_ALGORITHM');
    expect(failure(`BLAKE2b (a) = ${'b'.repeat(128)}`).message).toContain('BLAKE2b');
  });

  it.each([
    ['a digest of the wrong length', `${SHA256}0  a`, 1],
    ['a line that is not a checksum', `${SHA256}  a\nhello world\n`, 2],
    ['a hex digest followed by junk, no space', `${SHA256}!  a`, 1],
    ['a BSD line with a wrong-length digest', `# x\n\nSHA256 (a) = ${MD5}`, 3],
    ['an escaped name with an invalid escape', `\\${SHA256}  a\\tb`, 1],
    ['an escaped name ending in a backslash', `\\${SHA256}  ab\\`, 1],
    ['an escaped bare digest', `\\${SHA256}`, 1],
    ['an empty name', `SHA256 () = ${SHA256}`, 1],
    ['a bare digest among named lines', `${SHA256}  a\n${SHA256}\n`, 2],
    ['NUL-separated output', `${SHA256}  a\0${SHA256}  b\0`, 1],
    ['an empty file', '', 1],
    ['only comments', '# nothing\n\n', 1],
  ])('rejects %s as CHECKSUM_SIDECAR_MALFORMED with the line number', (_what, text, line) => {
    const e = failure(text, { sidecarName: 'x.sha256' });
    expect(e.code).toBe('CHECKSUM_SIDECAR_MALFORMED');
    expect(e.message).toContain(`"x.sha256", line ${line}:`);
    expect(e.hint).toBeTruthy();
  });

  it('refuses oversized input before looking at it', () => {
    expect(failure('0'.repeat(MAX_SIDECAR_BYTES + 1)).code).toBe('CHECKSUM_SIDECAR_TOO_LARGE');
    expect(failure(new Uint8Array(MAX_SIDECAR_BYTES + 1)).code).toBe('CHECKSUM_SIDECAR_TOO_LARGE');
  });
});

describe('parseSidecarLines', () => {
  it('returns every record, unsupported ones included', () => {
    const lines = parseSidecarLines(`${SHA256}  a\nSHA384 (b) = ${'c'.repeat(96)}\n${MD5} *c\n`);
    expect(lines.map((l) => [l.line, l.fileName, l.algorithm, l.tag])).toEqual([
      [1, 'a', 'sha256', undefined],
      [2, 'b', undefined, 'SHA384'],
      [3, 'c', 'md5', undefined],
    ]);
  });
});

describe('formatSidecar', () => {
  it('writes `<hex>  <basename>\\n` in lower case', () => {
    expect(formatSidecar(SHA256.toUpperCase(), 'out/dir/report 1.csv')).toBe(`${SHA256}  report 1.csv\n`);
    expect(formatSidecar(MD5, 'ünï.csv')).toBe(`${MD5}  ünï.csv\n`);
  });

  it('escapes backslash, newline and carriage return like coreutils', () => {
    expect(formatSidecar(SHA256, 'a\\b')).toBe(`\\${SHA256}  a\\\\b\n`);
    expect(formatSidecar(SHA256, 'a\nb\rc')).toBe(`\\${SHA256}  a\\nb\\rc\n`);
  });

  it('refuses things that are not digests or names', () => {
    for (const bad of ['', 'xyz', `${SHA256}0`, `${SHA256.slice(1)}g`]) {
      expect(() => formatSidecar(bad, 'a')).toThrow(SftpctlError);
    }
    expect(() => formatSidecar(SHA256, 'dir/')).toThrow(SftpctlError);
  });
});

describe('digestsEqual and mismatches', () => {
  it('compares case-insensitively and rejects non-digests', () => {
    expect(digestsEqual(SHA256, SHA256.toUpperCase())).toBe(true);
    expect(digestsEqual(SHA256, SHA256_B)).toBe(false);
    expect(digestsEqual(SHA256, MD5)).toBe(false);
    expect(digestsEqual('', '')).toBe(false);
    expect(digestsEqual('zz', 'zz')).toBe(false);
  });

  it('shows both digests on a mismatch', () => {
    const e = checksumMismatchError({
      fileName: 'in/report.csv',
      algorithm: 'sha256',
      expected: SHA256.toUpperCase(),
      actual: SHA256_B,
      sidecarName: 'in/report.csv.sha256',
    });
    expect(e.code).toBe('CHECKSUM_MISMATCH');
    expect(e.message).toContain(`expected ${SHA256}`);
    expect(e.message).toContain(`got ${SHA256_B}`);
    expect(e.message).toContain('SHA-256');
    expect(e.details.join('\n')).toContain(SHA256_B);
  });

  it('assertDigestMatches passes equal digests and throws the mismatch otherwise', () => {
    const entry = parseSidecar(`${SHA256.toUpperCase()}  a`);
    expect(() => assertDigestMatches(entry, SHA256, { fileName: 'a' })).not.toThrow();
    expect(() => assertDigestMatches(entry, SHA256_B, { fileName: 'a' })).toThrow(/does not match the sidecar/);
  });
});

describe('properties', () => {
  const special = fc.constantFrom(' ', '\\', '\n', '\r', '\t', '*', '(', ')', '=', '#', '-', 'é', '文', '😀', '\u200b');
  const unit = fc.oneof(special, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
  const fileName = fc
    .string({ unit, minLength: 1, maxLength: 40 })
    .filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '-');
  const algorithmAndHex = fc
    .constantFrom(32, 40, 64, 128)
    .chain((n) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: n, maxLength: n }));

  it('format → parse gives back the name and the digest, for any file name', () => {
    fc.assert(
      fc.property(fileName, algorithmAndHex, fc.boolean(), (name, hex, crlf) => {
        let text = formatSidecar(hex, `some/dir/${name}`);
        if (crlf) text = text.replace(/\n$/, '\r\n');
        const entry = parseSidecar(text, { expectedFileName: name });
        expect(entry.fileName).toBe(name);
        expect(entry.hex).toBe(hex.toLowerCase());
        expect(digestsEqual(entry.hex, hex)).toBe(true);
        const bytes = parseSidecar(Buffer.from(text, 'utf8'), { expectedFileName: `x/${name}` });
        expect(bytes.fileName).toBe(name);
      }),
      { numRuns: 500 },
    );
  });

  it('a manifest of formatted lines yields each file its own digest', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fileName, algorithmAndHex), { selector: ([n]) => n, minLength: 1, maxLength: 6 }),
        (files) => {
          const text = files.map(([n, h]) => formatSidecar(h.padEnd(64, '0').slice(0, 64), n)).join('');
          for (const [n, h] of files) {
            expect(parseSidecar(text, { expectedFileName: n, algorithm: 'sha256' }).hex).toBe(
              h.padEnd(64, '0').slice(0, 64).toLowerCase(),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('any input either parses or fails with a sidecar error code, never a crash', () => {
    const codes = new Set([
      'CHECKSUM_SIDECAR_MALFORMED',
      'CHECKSUM_SIDECAR_NAME_MISMATCH',
      'CHECKSUM_SIDECAR_AMBIGUOUS',
      'CHECKSUM_ALGORITHM_MISMATCH',
      'CHECKSUM_UNKNOWN_ALGORITHM',
    ]);
    const line = fc.oneof(
      fc.string(),
      fc.tuple(algorithmAndHex, fc.constantFrom(' ', '  ', ' *', '\t'), fc.string()).map((p) => p.join('')),
      fc
        .tuple(fc.constantFrom('MD5', 'SHA256', 'SHA384', 'X'), fc.string(), algorithmAndHex)
        .map(([t, n, h]) => `${t} (${n}) = ${h}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 5 }), fc.option(fileName, { nil: undefined }), (lines, expected) => {
        try {
          const e = parseSidecar(lines.join('\n'), expected === undefined ? {} : { expectedFileName: expected });
          expect(e.hex).toMatch(/^[0-9a-f]+$/);
        } catch (error) {
          expect(error).toBeInstanceOf(SftpctlError);
          expect(codes.has((error as SftpctlError).code)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
