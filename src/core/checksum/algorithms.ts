/**
 * The checksum algorithms sftpctl reads and writes, their names and their sidecar file names.
 *
 * Sidecar names (decision):
 * - Written: always `<file>.<algo>` — `report.csv.sha256`, `report.csv.md5`.
 * - Recognised when read, case-insensitively: `.md5`, `.sha1`, `.sha256`, `.sha512` and the equally common
 *   `.md5sum`, `.sha1sum`, `.sha256sum`, `.sha512sum`; plus the manifest names `MD5SUMS`, `SHA1SUMS`,
 *   `SHA256SUMS`, `SHA512SUMS` (Debian/Ubuntu style, algorithm only — they name no single target file).
 * - Looked for next to a file ({@link sidecarCandidatesFor}): the strongest algorithm first, short form before
 *   the `…sum` form.
 */
import { SftpctlError } from '../errors.js';

export type ChecksumAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** Every supported algorithm, weakest first. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = Object.freeze(['md5', 'sha1', 'sha256', 'sha512']);

/** What egress writes and `verify checksum` assumes when nothing else says otherwise. */
export const DEFAULT_CHECKSUM_ALGORITHM: ChecksumAlgorithm = 'sha256';

const HEX_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };
const LABEL: Readonly<Record<ChecksumAlgorithm, string>> = {
  md5: 'MD5',
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha512: 'SHA-512',
};
const BSD_TAG: Readonly<Record<ChecksumAlgorithm, string>> = {
  md5: 'MD5',
  sha1: 'SHA1',
  sha256: 'SHA256',
  sha512: 'SHA512',
};

/**
 * Algorithms people do use for sidecars but sftpctl does not support, keyed by their normalised name
 * (see {@link normaliseName}), so errors can say what the sidecar probably holds.
 */
const KNOWN_UNSUPPORTED: Readonly<Record<string, string>> = {
  sha224: 'SHA-224',
  sha384: 'SHA-384',
  sha2224: 'SHA-224',
  sha2384: 'SHA-384',
  sha3224: 'SHA3-224',
  sha3256: 'SHA3-256',
  sha3384: 'SHA3-384',
  sha3512: 'SHA3-512',
  blake2b: 'BLAKE2b',
  b2: 'BLAKE2b',
  crc: 'CRC',
  crc32: 'CRC-32',
  sm3: 'SM3',
};

/** Number of hex digits in a digest of `algorithm`. */
export function digestHexLength(algorithm: ChecksumAlgorithm): number {
  return HEX_LENGTH[algorithm];
}

/** Human name for messages: `SHA-256`. */
export function algorithmLabel(algorithm: ChecksumAlgorithm): string {
  return LABEL[algorithm];
}

/** The tag coreutils (`--tag`) and BSD `md5`/`sha256` write: `SHA256 (name) = …`. */
export function bsdTag(algorithm: ChecksumAlgorithm): string {
  return BSD_TAG[algorithm];
}

/** The algorithm whose digests have `length` hex digits; undefined for any other length. */
export function algorithmForHexLength(length: number): ChecksumAlgorithm | undefined {
  return CHECKSUM_ALGORITHMS.find((a) => HEX_LENGTH[a] === length);
}

/** Stronger algorithms sort higher; used to pick one line when a sidecar offers several. */
export function algorithmStrength(algorithm: ChecksumAlgorithm): number {
  return CHECKSUM_ALGORITHMS.indexOf(algorithm);
}

function normaliseName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_\s]/g, '');
}

/** Like {@link parseAlgorithm}, but returns undefined instead of throwing. */
export function tryParseAlgorithm(name: string): ChecksumAlgorithm | undefined {
  const n = normaliseName(name);
  switch (n) {
    case 'md5':
      return 'md5';
    case 'sha1':
      return 'sha1';
    case 'sha256':
    case 'sha2256': // OpenSSL 3: `SHA2-256(name)= …`
      return 'sha256';
    case 'sha512':
    case 'sha2512':
      return 'sha512';
    default:
      return undefined;
  }
}

/**
 * Reads an algorithm name as a person or a tool writes it: `sha256`, `SHA-256`, `SHA256`, `sha_256`, `SHA2-256`
 * (case, `-`, `_` and spaces do not matter).
 * @throws SftpctlError `CHECKSUM_UNKNOWN_ALGORITHM` listing the supported ones.
 */
export function parseAlgorithm(name: string): ChecksumAlgorithm {
  const algorithm = tryParseAlgorithm(name);
  if (algorithm !== undefined) return algorithm;
  throw unknownAlgorithmError(name);
}

/** The error for an algorithm sftpctl does not support; `name` is what the user or the sidecar said. */
export function unknownAlgorithmError(name: string, where?: string): SftpctlError {
  const known = KNOWN_UNSUPPORTED[normaliseName(name)];
  const shown = JSON.stringify(name);
  const what = known === undefined ? `Unknown checksum algorithm ${shown}` : `${known} checksums are not supported`;
  return new SftpctlError(
    'CHECKSUM_UNKNOWN_ALGORITHM',
    `${what}${where === undefined ? '' : ` (${where})`}.`,
    `Use one of: ${CHECKSUM_ALGORITHMS.join(', ')} (also written like SHA-256 or SHA256).`,
  );
}

function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

const EXTENSION = /\.(md5|sha1|sha256|sha512)(sum)?$/i;
const MANIFEST = /^(md5|sha1|sha256|sha512)sums$/i;

/**
 * The algorithm a sidecar's name announces: `x.sha256`, `x.SHA256`, `x.sha256sum`, `SHA256SUMS` → `sha256`.
 * Undefined when the name is not a sidecar name. Takes a path or an object key; only the last segment counts.
 */
export function algorithmFromSidecarName(path: string): ChecksumAlgorithm | undefined {
  const name = baseName(path);
  const ext = EXTENSION.exec(name);
  // `.sha256` alone names no file.
  const m = ext !== null && ext.index > 0 ? ext : MANIFEST.exec(name);
  return m === null ? undefined : (m[1]!.toLowerCase() as ChecksumAlgorithm);
}

/**
 * Splits a sidecar path into the file it describes and the algorithm: `in/a.csv.sha256` →
 * `{ target: 'in/a.csv', algorithm: 'sha256' }`. Undefined for anything that is not `<target>.<algo>[sum]`
 * (manifests such as `SHA256SUMS` have no single target).
 */
export function splitSidecarName(path: string): { target: string; algorithm: ChecksumAlgorithm } | undefined {
  const m = EXTENSION.exec(path);
  if (m === null) return undefined;
  const target = path.slice(0, m.index);
  if (target === '' || target.endsWith('/')) return undefined;
  return { target, algorithm: m[1]!.toLowerCase() as ChecksumAlgorithm };
}

/** The sidecar name egress writes for `fileName`: `report.csv` → `report.csv.sha256`. Keeps any directory part. */
export function sidecarNameFor(fileName: string, algorithm: ChecksumAlgorithm): string {
  return `${fileName}.${algorithm}`;
}

/**
 * Names to look for next to `fileName`, in the order to try them: strongest algorithm first, `<file>.<algo>` before
 * `<file>.<algo>sum`. Lower-case only; callers on case-insensitive stores need nothing more.
 */
export function sidecarCandidatesFor(fileName: string): { path: string; algorithm: ChecksumAlgorithm }[] {
  const strongestFirst = [...CHECKSUM_ALGORITHMS].reverse();
  return [
    ...strongestFirst.map((algorithm) => ({ path: `${fileName}.${algorithm}`, algorithm })),
    ...strongestFirst.map((algorithm) => ({ path: `${fileName}.${algorithm}sum`, algorithm })),
  ];
}
