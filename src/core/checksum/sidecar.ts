/**
 * Checksum sidecars: reading what partners' tools write and writing what `md5sum -c` / `sha256sum -c` accept.
 *
 * Read (one record per line; `\n` or `\r\n`; a UTF-8 BOM or a UTF-16 file with BOM is fine):
 * - coreutils `<hex>  <name>` and binary mode `<hex> *<name>`; a leading `\` marks an escaped name in which
 *   `\\`, `\n` and `\r` stand for backslash, newline and carriage return (coreutils ≥ 8.x / 9.x).
 * - the "reversed BSD" `<hex> <name>` (`md5 -r`) when the name does not start with a space or `*` (as coreutils).
 * - BSD tagged `SHA256 (<name>) = <hex>` (`sha256sum --tag`, `cksum -a`, BSD `md5`/`sha256`, `shasum --tag`),
 *   also OpenSSL's `SHA2-256(<name>)= <hex>`.
 * - bare hex: a lone digest, e.g. PowerShell's `(Get-FileHash f).Hash > f.sha256`. Only as the sole record.
 * - empty lines and `#` comments are skipped. The name `-` (hashed from stdin) counts as "no name", like bare hex.
 * Not read: `--zero` (NUL-separated) output, which coreutils cannot check either, and `cksum --base64` digests.
 *
 * Hex is accepted in either case and returned lower-case; compare with {@link digestsEqual}.
 */
import { timingSafeEqual } from 'node:crypto';
import { SftpctlError } from '../errors.js';
import {
  algorithmForHexLength,
  algorithmFromSidecarName,
  algorithmLabel,
  algorithmStrength,
  type ChecksumAlgorithm,
  digestHexLength,
  tryParseAlgorithm,
  unknownAlgorithmError,
} from './algorithms.js';

/** Sidecars larger than this are refused unread: a real one is a line per file. Check sizes before reading. */
export const MAX_SIDECAR_BYTES = 1024 * 1024;

export type SidecarFormat = 'coreutils' | 'bsd' | 'bare';

/** One checksum record of a sidecar, as it was written. */
export interface SidecarLine {
  /** 1-based line number in the sidecar. */
  line: number;
  format: SidecarFormat;
  /** Lower-case hex digest. */
  hex: string;
  /** Undefined when neither the tag nor the digest length names a supported algorithm. */
  algorithm: ChecksumAlgorithm | undefined;
  /** The BSD tag as written (`SHA256`, `MD5`, `SHA2-256`); undefined for the other formats. */
  tag: string | undefined;
  /** The file the record is for, unescaped; undefined for bare hex and for `-` (stdin). */
  fileName: string | undefined;
  /** coreutils binary-mode marker `*` (no effect on the digest on POSIX systems). */
  binary: boolean;
}

/** The record chosen for one file. */
export interface SidecarEntry extends SidecarLine {
  algorithm: ChecksumAlgorithm;
}

export interface ParseSidecarOptions {
  /** The file being verified (path or bare name). Records for other files are ignored; none left → error. */
  expectedFileName?: string;
  /** The algorithm the digest must be. Wins over `sidecarName`; a digest of another algorithm → error. */
  algorithm?: ChecksumAlgorithm;
  /** The sidecar's own name, for messages and, through its extension (`.sha256`…), as the expected algorithm. */
  sidecarName?: string;
}

/** Hex lengths of digests people put in sidecars (supported or not), to tell "unsupported" from "garbage". */
const UNSUPPORTED_BY_LENGTH: Readonly<Record<number, string>> = { 56: 'SHA-224', 96: 'SHA-384' };

const HEX = /^[0-9a-fA-F]+$/;
// At most one blank after a bare digest: `<hex>   ` is the coreutils line for a file named ` `.
const BARE = /^([0-9a-fA-F]+)[ \t]?$/;
const UNTAGGED = /^([0-9a-fA-F]+)[ \t]([\s\S]*)$/;
const TAGGED = /^([A-Za-z][A-Za-z0-9-]*) ?\(([\s\S]*)\) ?= ?([0-9a-fA-F]+)[ \t]*$/;

function sidecarLabel(options: ParseSidecarOptions): string {
  return options.sidecarName === undefined ? 'The checksum sidecar' : `Checksum sidecar ${q(options.sidecarName)}`;
}

function q(s: string): string {
  return JSON.stringify(s);
}

function snippet(s: string): string {
  return q(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function malformed(options: ParseSidecarOptions, line: number, why: string): SftpctlError {
  return new SftpctlError(
    'CHECKSUM_SIDECAR_MALFORMED',
    `${sidecarLabel(options)}, line ${line}: ${why}.`,
    'A sidecar line looks like `<hex>  <file name>` (sha256sum), `SHA256 (<file name>) = <hex>` (sha256sum --tag) ' +
      'or is a bare hex digest. Regenerate it, e.g. `sha256sum report.csv > report.csv.sha256`.',
  );
}

function decode(input: string | Uint8Array, options: ParseSidecarOptions): string {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > MAX_SIDECAR_BYTES) {
    throw new SftpctlError(
      'CHECKSUM_SIDECAR_TOO_LARGE',
      `${sidecarLabel(options)} is ${size} bytes; a sidecar holds a line per file and is refused above ${MAX_SIDECAR_BYTES} bytes.`,
      'Check that the right file was given as the sidecar.',
    );
  }
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input[0] === 0xff && input[1] === 0xfe) text = new TextDecoder('utf-16le').decode(input.subarray(2));
  else if (input[0] === 0xfe && input[1] === 0xff) text = new TextDecoder('utf-16be').decode(input.subarray(2));
  else text = new TextDecoder('utf-8').decode(input); // drops a UTF-8 BOM itself
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** Undoes coreutils' escaping: `\\` `\n` `\r`; anything else after a backslash is invalid (as in coreutils). */
function unescapeName(name: string): string | undefined {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = name[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else return undefined;
  }
  return out;
}

function hexLengthProblem(length: number): string | undefined {
  if (algorithmForHexLength(length) !== undefined || UNSUPPORTED_BY_LENGTH[length] !== undefined) return undefined;
  return `the digest has ${length} hex digits; MD5 has 32, SHA-1 40, SHA-256 64 and SHA-512 128`;
}

/**
 * Every checksum record of a sidecar, in order, without choosing one.
 * @throws SftpctlError `CHECKSUM_SIDECAR_MALFORMED` (with the line number) or `CHECKSUM_SIDECAR_TOO_LARGE`.
 */
export function parseSidecarLines(input: string | Uint8Array, options: ParseSidecarOptions = {}): SidecarLine[] {
  const text = decode(input, options);
  const records: SidecarLine[] = [];
  let bareLine: number | undefined;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    let raw = lines[index]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1); // CRLF; a real CR in a name is written escaped as `\r`
    let s = raw.replace(/^[ \t]+/, '');
    if (s === '' || s.startsWith('#')) continue;
    if (s.includes('\0')) throw malformed(options, lineNo, 'contains a NUL byte (`--zero` output cannot be checked)');
    const escaped = s.startsWith('\\');
    if (escaped) s = s.slice(1);

    let hex: string;
    let name: string | undefined;
    let tag: string | undefined;
    let format: SidecarFormat;
    let binary = false;
    const bare = escaped ? null : BARE.exec(s);
    // A tag is short (`MD5`, `SHA256`, `B2`), a digest is not: that tells `B2 (x) = …` from `<hex> (x) = …`.
    const maybeTagged = bare === null ? TAGGED.exec(s) : null;
    const tagged = maybeTagged !== null && maybeTagged[1]!.length < 32 ? maybeTagged : null;
    const untagged = bare === null && tagged === null ? UNTAGGED.exec(s) : null;
    if (bare !== null) {
      format = 'bare';
      hex = bare[1]!;
      bareLine ??= lineNo;
    } else if (tagged !== null) {
      format = 'bsd';
      tag = tagged[1]!;
      name = tagged[2]!;
      hex = tagged[3]!;
    } else if (untagged !== null) {
      format = 'coreutils';
      hex = untagged[1]!;
      const rest = untagged[2]!;
      if (rest.length >= 2 && (rest[0] === ' ' || rest[0] === '*')) {
        binary = rest[0] === '*';
        name = rest.slice(1);
      } else {
        name = rest; // `<hex> <name>`: BSD `md5 -r`
      }
    } else {
      throw malformed(options, lineNo, `${snippet(raw)} is not a checksum line`);
    }

    const lengthProblem = hexLengthProblem(hex.length);
    if (lengthProblem !== undefined && tag === undefined) throw malformed(options, lineNo, lengthProblem);
    if (escaped && name !== undefined) {
      const unescaped = unescapeName(name);
      if (unescaped === undefined) {
        throw malformed(
          options,
          lineNo,
          `the escaped file name ${snippet(name)} has a \`\\\` not followed by \\, n or r`,
        );
      }
      name = unescaped;
    }
    if (name === '') throw malformed(options, lineNo, 'the file name is empty');

    let algorithm: ChecksumAlgorithm | undefined;
    if (tag !== undefined) {
      algorithm = tryParseAlgorithm(tag);
      if (algorithm !== undefined && hex.length !== digestHexLength(algorithm)) {
        throw malformed(
          options,
          lineNo,
          `a ${algorithmLabel(algorithm)} digest has ${digestHexLength(algorithm)} hex digits, this one ${hex.length}`,
        );
      }
    } else {
      algorithm = algorithmForHexLength(hex.length);
    }
    records.push({
      line: lineNo,
      format,
      hex: hex.toLowerCase(),
      algorithm,
      tag,
      fileName: name === '-' ? undefined : name,
      binary,
    });
  }
  if (bareLine !== undefined && records.length > 1) {
    throw malformed(options, bareLine, 'a bare digest names no file, so it must be the only line of the sidecar');
  }
  return records;
}

function pathParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** How many trailing path segments two names share: `in/a.csv` vs `/srv/in/a.csv` → 2; different basenames → 0. */
function matchScore(recordName: string, expected: string[]): number {
  const parts = pathParts(recordName);
  let n = 0;
  while (n < parts.length && n < expected.length && parts[parts.length - 1 - n] === expected[expected.length - 1 - n]) {
    n++;
  }
  return n;
}

function listNames(records: SidecarLine[]): string {
  const names = [...new Set(records.map((r) => r.fileName).filter((n): n is string => n !== undefined))];
  const shown = names.slice(0, 3).map(q).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}

function describeAlgorithm(r: SidecarLine): string {
  if (r.tag !== undefined) return `a ${r.tag} checksum`;
  const known = r.algorithm === undefined ? UNSUPPORTED_BY_LENGTH[r.hex.length] : algorithmLabel(r.algorithm);
  return `a digest of ${r.hex.length} hex digits${known === undefined ? '' : ` (${known})`}`;
}

/**
 * Reads a sidecar and picks the record for `options.expectedFileName`.
 *
 * - Names are compared by path segments from the end: `./in/a.csv` and `/srv/in/a.csv` both match `a.csv`; when
 *   several records share the basename, the one sharing the most trailing segments wins.
 * - Algorithm: `options.algorithm`, else the sidecar name's extension, else the BSD tag or the digest length.
 *   When none was imposed and the file has several records for the file, the strongest algorithm is used.
 * - Bare hex and `-` records carry no name and match any file.
 *
 * Codes: `CHECKSUM_SIDECAR_MALFORMED` (line number), `CHECKSUM_SIDECAR_NAME_MISMATCH` (both names),
 * `CHECKSUM_ALGORITHM_MISMATCH` (digest of another algorithm than required), `CHECKSUM_UNKNOWN_ALGORITHM`,
 * `CHECKSUM_SIDECAR_AMBIGUOUS` (several files or conflicting digests and nothing says which),
 * `CHECKSUM_SIDECAR_TOO_LARGE`.
 */
export function parseSidecar(input: string | Uint8Array, options: ParseSidecarOptions = {}): SidecarEntry {
  const records = parseSidecarLines(input, options);
  const label = sidecarLabel(options);
  if (records.length === 0) throw malformed(options, 1, 'it contains no checksum');

  // 1. The records for the file.
  let candidates = records;
  const expected = options.expectedFileName;
  if (expected !== undefined && !(records.length === 1 && records[0]!.fileName === undefined)) {
    const parts = pathParts(expected);
    const scored = records.map((r) => ({ r, score: r.fileName === undefined ? 0 : matchScore(r.fileName, parts) }));
    const best = Math.max(...scored.map((s) => s.score));
    if (best === 0) {
      const message =
        records.length === 1
          ? `${label} is for ${q(records[0]!.fileName ?? '-')}, not for ${q(baseName(expected))}.`
          : `${label} lists ${listNames(records)}, but not ${q(baseName(expected))}.`;
      throw new SftpctlError(
        'CHECKSUM_SIDECAR_NAME_MISMATCH',
        message,
        `Use the sidecar made for ${q(baseName(expected))}, e.g. \`sha256sum ${baseName(expected)} > ${baseName(expected)}.sha256\`.`,
      );
    }
    candidates = scored.filter((s) => s.score === best).map((s) => s.r);
  }

  // 2. The algorithm.
  const wanted =
    options.algorithm ??
    (options.sidecarName === undefined ? undefined : algorithmFromSidecarName(options.sidecarName));
  let chosen: SidecarLine[];
  if (wanted !== undefined) {
    chosen = candidates.filter((r) => r.algorithm === wanted);
    if (chosen.length === 0) {
      const r = candidates[0]!;
      const source =
        options.algorithm === undefined
          ? `its name says ${algorithmLabel(wanted)}`
          : `${algorithmLabel(wanted)} was asked for`;
      throw new SftpctlError(
        'CHECKSUM_ALGORITHM_MISMATCH',
        `${label}, line ${r.line}, holds ${describeAlgorithm(r)}, but ${source} (${digestHexLength(wanted)} hex digits).`,
        'Name the sidecar after the algorithm that made it (`.md5`, `.sha1`, `.sha256`, `.sha512`) or give the right algorithm.',
      );
    }
  } else {
    const supported = candidates.filter((r) => r.algorithm !== undefined);
    if (supported.length === 0) {
      const r = candidates[0]!;
      throw unknownAlgorithmError(
        r.tag ?? UNSUPPORTED_BY_LENGTH[r.hex.length] ?? `${r.hex.length} hex digits`,
        `${options.sidecarName ?? 'sidecar'}, line ${r.line}`,
      );
    }
    const strongest = Math.max(...supported.map((r) => algorithmStrength(r.algorithm!)));
    chosen = supported.filter((r) => algorithmStrength(r.algorithm!) === strongest);
  }

  // 3. One answer.
  if (expected === undefined && new Set(chosen.map((r) => r.fileName)).size > 1) {
    throw new SftpctlError(
      'CHECKSUM_SIDECAR_AMBIGUOUS',
      `${label} lists ${listNames(chosen)}; it is not clear which file it is for.`,
      'Say which file to verify against it.',
    );
  }
  if (new Set(chosen.map((r) => r.hex)).size > 1) {
    throw new SftpctlError(
      'CHECKSUM_SIDECAR_AMBIGUOUS',
      `${label} gives different checksums for ${q(chosen[0]!.fileName ?? '-')} on lines ${chosen.map((r) => r.line).join(', ')}.`,
      'Remove the stale lines from the sidecar, or give the file with more of its path.',
    );
  }
  return chosen[0] as SidecarEntry;
}

/**
 * The sidecar line coreutils writes: `<hex>  <basename>\n` (lower-case hex, two spaces, text mode). A name with a
 * backslash, newline or carriage return is escaped as `sha256sum` does it: a leading `\`, then `\\`, `\n`, `\r`.
 * Only the basename is written so the sidecar checks with `sha256sum -c` run in the file's folder.
 */
export function formatSidecar(hex: string, fileName: string): string {
  if (!HEX.test(hex) || algorithmForHexLength(hex.length) === undefined) {
    throw new SftpctlError('CHECKSUM_INVALID_DIGEST', `Not a hex digest: ${snippet(hex)}.`, undefined, {
      kind: 'internal',
    });
  }
  const name = baseName(fileName);
  if (name === '') {
    throw new SftpctlError('CHECKSUM_INVALID_FILE_NAME', `No file name in ${q(fileName)}.`, undefined, {
      kind: 'internal',
    });
  }
  const digest = hex.toLowerCase();
  if (!/[\\\n\r]/.test(name)) return `${digest}  ${name}\n`;
  const escaped = name.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
  return `\\${digest}  ${escaped}\n`;
}

/** Case-insensitive, constant-time (for equal lengths) comparison of two hex digests. Non-hex or empty → false. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0 || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a.toLowerCase(), 'latin1'), Buffer.from(b.toLowerCase(), 'latin1'));
}

export interface ChecksumMismatch {
  /** The verified file (path or name). */
  fileName: string;
  algorithm: ChecksumAlgorithm;
  /** The digest the sidecar gives. */
  expected: string;
  /** The digest of the file's bytes. */
  actual: string;
  sidecarName?: string;
}

/** `CHECKSUM_MISMATCH` with both digests in the message and, one per line, in `details`. */
export function checksumMismatchError(m: ChecksumMismatch): SftpctlError {
  const expected = m.expected.toLowerCase();
  const actual = m.actual.toLowerCase();
  const from = m.sidecarName === undefined ? 'the sidecar' : `sidecar ${q(m.sidecarName)}`;
  return new SftpctlError(
    'CHECKSUM_MISMATCH',
    `${algorithmLabel(m.algorithm)} of ${q(m.fileName)} does not match ${from}: expected ${expected}, got ${actual}.`,
    'The file differs from the one the sidecar was made for (truncated, changed or the wrong sidecar). ' +
      'Transfer the file again with a fresh sidecar.',
    { details: [`expected ${expected}  (${from})`, `actual   ${actual}  (${q(m.fileName)})`] },
  );
}

/** Throws {@link checksumMismatchError} unless `actual` equals the entry's digest. */
export function assertDigestMatches(
  entry: Pick<SidecarEntry, 'algorithm' | 'hex'>,
  actual: string,
  context: { fileName: string; sidecarName?: string },
): void {
  if (digestsEqual(entry.hex, actual)) return;
  throw checksumMismatchError({
    fileName: context.fileName,
    algorithm: entry.algorithm,
    expected: entry.hex,
    actual,
    ...(context.sidecarName === undefined ? {} : { sidecarName: context.sidecarName }),
  });
}
