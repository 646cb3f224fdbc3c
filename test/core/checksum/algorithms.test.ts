import { describe, expect, it } from 'vitest';
import {
  algorithmForHexLength,
  algorithmFromSidecarName,
  algorithmLabel,
  bsdTag,
  CHECKSUM_ALGORITHMS,
  digestHexLength,
  parseAlgorithm,
  sidecarCandidatesFor,
  sidecarNameFor,
  splitSidecarName,
  tryParseAlgorithm,
} from '../../../src/core/checksum/algorithms.js';
import { SftpctlError } from '../../../src/core/errors.js';

function thrown(fn: () => unknown): SftpctlError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SftpctlError);
    return error as SftpctlError;
  }
  throw new Error('expected a throw');
}

describe('algorithms', () => {
  it('lists the four supported algorithms with their digest lengths', () => {
    expect(CHECKSUM_ALGORITHMS).toEqual(['md5', 'sha1', 'sha256', 'sha512']);
    expect(CHECKSUM_ALGORITHMS.map(digestHexLength)).toEqual([32, 40, 64, 128]);
    expect(CHECKSUM_ALGORITHMS.map(algorithmLabel)).toEqual(['MD5', 'SHA-1', 'SHA-256', 'SHA-512']);
    expect(CHECKSUM_ALGORITHMS.map(bsdTag)).toEqual(['MD5', 'SHA1', 'SHA256', 'SHA512']);
    expect(algorithmForHexLength(64)).toBe('sha256');
    expect(algorithmForHexLength(96)).toBeUndefined();
  });

  it.each([
    ['sha256', 'sha256'],
    ['SHA-256', 'sha256'],
    ['SHA256', 'sha256'],
    ['Sha_256', 'sha256'],
    ['SHA2-256', 'sha256'],
    [' sha512 ', 'sha512'],
    ['SHA-512', 'sha512'],
    ['sha-1', 'sha1'],
    ['SHA1', 'sha1'],
    ['MD5', 'md5'],
    ['md-5', 'md5'],
  ])('parseAlgorithm(%j) = %s', (name, expected) => {
    expect(parseAlgorithm(name)).toBe(expected);
  });

  it('rejects unknown algorithms with a code and a hint listing the valid ones', () => {
    for (const name of ['sha3', 'crc32', '', 'sha-384', 'blake2b', 'sha256sum']) {
      expect(tryParseAlgorithm(name)).toBeUndefined();
      const error = thrown(() => parseAlgorithm(name));
      expect(error.code).toBe('CHECKSUM_UNKNOWN_ALGORITHM');
      expect(error.hint).toContain('md5, sha1, sha256, sha512');
    }
    expect(thrown(() => parseAlgorithm('SHA-384')).message).toContain('SHA-384 checksums are not supported');
    expect(thrown(() => parseAlgorithm('whirlpool')).message).toContain('"whirlpool"');
  });

  it.each([
    ['report.csv.sha256', 'sha256'],
    ['in/report.csv.SHA256', 'sha256'],
    ['report.csv.md5', 'md5'],
    ['report.csv.sha1', 'sha1'],
    ['report.csv.sha512', 'sha512'],
    ['report.csv.sha256sum', 'sha256'],
    ['report.csv.md5sum', 'md5'],
    ['/srv/SHA256SUMS', 'sha256'],
    ['MD5SUMS', 'md5'],
    ['sha512sums', 'sha512'],
  ])('algorithmFromSidecarName(%j) = %s', (name, expected) => {
    expect(algorithmFromSidecarName(name)).toBe(expected);
  });

  it.each(['report.csv', 'report.sha384', '.sha256', 'dir/.sha256', 'report.sha256.pgp', 'sha256', 'x.sha2566'])(
    'algorithmFromSidecarName(%j) is undefined',
    (name) => {
      expect(algorithmFromSidecarName(name)).toBeUndefined();
    },
  );

  it('splits a sidecar name into target and algorithm', () => {
    expect(splitSidecarName('in/a b.csv.sha256')).toEqual({ target: 'in/a b.csv', algorithm: 'sha256' });
    expect(splitSidecarName('a.csv.MD5SUM')).toEqual({ target: 'a.csv', algorithm: 'md5' });
    expect(splitSidecarName('in/.sha256')).toBeUndefined();
    expect(splitSidecarName('SHA256SUMS')).toBeUndefined();
    expect(splitSidecarName('a.csv')).toBeUndefined();
  });

  it('names sidecars <file>.<algo> and looks for the strongest first', () => {
    expect(sidecarNameFor('out/report.csv', 'sha256')).toBe('out/report.csv.sha256');
    expect(sidecarNameFor('report.csv', 'md5')).toBe('report.csv.md5');
    expect(sidecarCandidatesFor('a').map((c) => c.path)).toEqual([
      'a.sha512',
      'a.sha256',
      'a.sha1',
      'a.md5',
      'a.sha512sum',
      'a.sha256sum',
      'a.sha1sum',
      'a.md5sum',
    ]);
    for (const c of sidecarCandidatesFor('x/y.csv')) expect(algorithmFromSidecarName(c.path)).toBe(c.algorithm);
  });
});
