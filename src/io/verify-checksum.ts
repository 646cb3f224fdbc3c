import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type ChecksumAlgorithm, sidecarCandidatesFor } from '../core/checksum/algorithms.js';
import { HASH_READ_CHUNK_BYTES, hashStream } from '../core/checksum/hash-stream.js';
import { digestsEqual, MAX_SIDECAR_BYTES, parseSidecar } from '../core/checksum/sidecar.js';
import { isSftpctlError, SftpctlError } from '../core/errors.js';
import { inputFile } from './files.js';

export interface ChecksumVerdict {
  file: string;
  /** The name the sidecar must describe (the plaintext's name when decrypting). */
  subject: string;
  sidecar: string | null;
  algorithm: ChecksumAlgorithm | null;
  expected: string | null;
  actual: string | null;
  bytes: number | null;
  ok: boolean;
  error: { code: string; message: string; hint: string | null } | null;
}

export interface VerifyOptions {
  sidecar?: string;
  algorithm?: ChecksumAlgorithm;
  /** Turns the file into the bytes that were checksummed (e.g. PGP-decrypts it) in the same streaming pass. */
  transform?: (file: string) => { subject: string; open(): AsyncIterable<Uint8Array>; finished?: Promise<unknown> };
}

/** Checks one file against its checksum sidecar, streaming; never throws for bad input: the verdict says why. */
export async function verifyFileChecksum(file: string, options: VerifyOptions = {}): Promise<ChecksumVerdict> {
  const transform = options.transform?.(file);
  const subject = transform?.subject ?? file;
  const verdict: ChecksumVerdict = {
    file,
    subject: basename(subject),
    sidecar: null,
    algorithm: null,
    expected: null,
    actual: null,
    bytes: null,
    ok: false,
    error: null,
  };
  try {
    await inputFile(file, process.cwd());
    const sidecar = options.sidecar ?? (await findSidecar(subject, options.algorithm));
    verdict.sidecar = sidecar;
    const entry = parseSidecar(await readSidecar(sidecar), {
      expectedFileName: basename(subject),
      sidecarName: sidecar,
      ...(options.algorithm ? { algorithm: options.algorithm } : {}),
    });
    verdict.algorithm = entry.algorithm;
    verdict.expected = entry.hex;
    const source = transform ? transform.open() : createReadStream(file, { highWaterMark: HASH_READ_CHUNK_BYTES });
    const [result] = await Promise.all([hashStream(source, [entry.algorithm]), transform?.finished]);
    verdict.actual = result.digests[entry.algorithm];
    verdict.bytes = result.bytes;
    verdict.ok = digestsEqual(entry.hex, verdict.actual);
  } catch (error) {
    if (!isSftpctlError(error)) throw error;
    verdict.error = { code: error.code, message: error.message, hint: error.hint ?? null };
  }
  return verdict;
}

async function findSidecar(subject: string, algorithm: ChecksumAlgorithm | undefined): Promise<string> {
  const candidates = sidecarCandidatesFor(subject).filter(
    (candidate) => algorithm === undefined || candidate.algorithm === algorithm,
  );
  for (const candidate of candidates) {
    if ((await stat(candidate.path).catch(() => undefined))?.isFile()) return candidate.path;
  }
  throw new SftpctlError(
    'CHECKSUM_SIDECAR_MISSING',
    `No checksum sidecar found for ${subject} (looked for ${candidates
      .slice(0, 4)
      .map((candidate) => basename(candidate.path))
      .join(', ')}, …).`,
    'Name it with --sidecar <file>.',
  );
}

async function readSidecar(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r').catch(() => {
    throw new SftpctlError(
      'CHECKSUM_SIDECAR_MISSING',
      `Sidecar ${path} does not exist or cannot be read.`,
      'Check the --sidecar path.',
    );
  });
  try {
    const { size } = await handle.stat();
    if (size > MAX_SIDECAR_BYTES) {
      throw new SftpctlError(
        'CHECKSUM_SIDECAR_TOO_LARGE',
        `${path} is ${size} bytes: too large for a checksum sidecar.`,
        'Give the sidecar file, not the data file.',
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
