import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { failure } from './replies.js';
import { sshString } from './wire.js';

/**
 * The `check-file` extension (draft-ietf-secsh-filexfer-extensions-00 §3; paramiko's `SFTPFile.check`, WinSCP's
 * checksum command): the server hashes a range of a file, whole or in blocks, so a client can compare without
 * downloading. Streams the file in 1 MiB reads (constant memory). `md5` and `sha1` are offered because clients ask
 * for them to compare with what they have; nothing here relies on them for security.
 */

export const CHECK_FILE_ALGORITHMS = ['sha256', 'sha512', 'sha384', 'sha224', 'sha1', 'md5'] as const;
const DIGEST_BYTES: Record<string, number> = { md5: 16, sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };
/** The reply must fit an SFTP packet: at most this many bytes of hashes. */
const MAX_HASH_BYTES = 200 * 1024;
const CHUNK = 1024 * 1024;

export interface CheckFileRequest {
  /** Comma-separated, the client's order of preference. */
  algorithms: string;
  start: number;
  /** 0: to the end of the file. */
  length: number;
  /** 0: one hash of the whole range; otherwise one per block (at least 256 bytes). */
  blockSize: number;
}

/** The EXTENDED_REPLY payload: string "check-file", string algorithm used, the hashes back to back. */
export async function checkFile(file: FileHandle, request: CheckFileRequest): Promise<Buffer> {
  const wanted = request.algorithms.split(',').map((name) => name.trim().toLowerCase());
  const algorithm = wanted.find((name) => (CHECK_FILE_ALGORITHMS as readonly string[]).includes(name));
  if (!algorithm) throw failure(`No supported hash algorithm (supported: ${CHECK_FILE_ALGORITHMS.join(',')})`);
  if (request.blockSize !== 0 && request.blockSize < 256) throw failure('Block size must be 0 or at least 256');
  const size = (await file.stat()).size;
  const end = request.length === 0 ? size : Math.min(size, request.start + request.length);
  const start = Math.min(request.start, end);
  const blockSize = request.blockSize === 0 ? Math.max(1, end - start) : request.blockSize;
  const blocks = end > start ? Math.ceil((end - start) / blockSize) : 1;
  if (blocks * DIGEST_BYTES[algorithm]! > MAX_HASH_BYTES) throw failure('Too many blocks: use a larger block size');

  const hashes: Buffer[] = [];
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = start;
  do {
    const blockEnd = Math.min(end, position + blockSize);
    const hash = createHash(algorithm);
    while (position < blockEnd) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, blockEnd - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    hashes.push(hash.digest());
    position = blockEnd;
  } while (position < end);
  return Buffer.concat([sshString('check-file'), sshString(algorithm), ...hashes]);
}

/** Parses `string algorithms, uint64 start, uint64 length, uint32 block-size` after the handle or name. */
export function parseCheckFileTail(data: Buffer, offset: number): CheckFileRequest | undefined {
  if (offset + 4 > data.length) return undefined;
  const nameLength = data.readUInt32BE(offset);
  const after = offset + 4 + nameLength;
  if (after + 20 > data.length) return undefined;
  const start = data.readBigUInt64BE(after);
  const length = data.readBigUInt64BE(after + 8);
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  if (start > limit || length > limit) return undefined;
  return {
    algorithms: data.toString('utf8', offset + 4, after),
    start: Number(start),
    length: Number(length),
    blockSize: data.readUInt32BE(after + 16),
  };
}
