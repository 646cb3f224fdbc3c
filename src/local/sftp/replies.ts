import type { Stats } from 'node:fs';
import ssh2 from 'ssh2';
import { PathError } from './paths.js';

const { STATUS_CODE } = ssh2.utils.sftp;

export { STATUS_CODE };

/** A failure answered with an SFTP status. Messages are fixed texts: never a file-system path or a Node message. */
export class SftpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SftpStatusError';
  }
}

export const denied = (message = 'Permission denied') => new SftpStatusError(STATUS_CODE.PERMISSION_DENIED, message);
export const failure = (message: string) => new SftpStatusError(STATUS_CODE.FAILURE, message);
export const noSuchFile = (message = 'No such file or directory') =>
  new SftpStatusError(STATUS_CODE.NO_SUCH_FILE, message);

/** errno (and our own errors) → SFTP v3 status and a message that tells the user something without leaking paths. */
export function statusOf(error: unknown): { status: number; message: string } {
  if (error instanceof SftpStatusError) return { status: error.status, message: error.message };
  if (error instanceof PathError) {
    return error.reason === 'nul-byte'
      ? { status: STATUS_CODE.BAD_MESSAGE, message: 'Path contains a NUL byte' }
      : { status: STATUS_CODE.PERMISSION_DENIED, message: 'Permission denied: the path leaves your home folder' };
  }
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { status: STATUS_CODE.NO_SUCH_FILE, message: 'No such file or directory' };
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return { status: STATUS_CODE.PERMISSION_DENIED, message: 'Permission denied' };
    case 'EEXIST':
      return { status: STATUS_CODE.FAILURE, message: 'File or directory already exists' };
    case 'ENOTEMPTY':
      return { status: STATUS_CODE.FAILURE, message: 'Directory not empty' };
    case 'EISDIR':
      return { status: STATUS_CODE.FAILURE, message: 'Is a directory' };
    case 'ELOOP':
      return { status: STATUS_CODE.FAILURE, message: 'Too many levels of symbolic links' };
    case 'ENAMETOOLONG':
      return { status: STATUS_CODE.FAILURE, message: 'File name too long' };
    case 'ENOSPC':
    case 'EDQUOT':
      return { status: STATUS_CODE.FAILURE, message: 'No space left on the server' };
    case 'EINVAL':
      return { status: STATUS_CODE.FAILURE, message: 'Invalid argument' };
    case 'EBADF':
      return { status: STATUS_CODE.FAILURE, message: 'Invalid handle' };
    case 'EMFILE':
    case 'ENFILE':
      return { status: STATUS_CODE.FAILURE, message: 'Too many open files on the server' };
    default:
      return { status: STATUS_CODE.FAILURE, message: 'Failure' };
  }
}

export interface SftpAttrs {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: number;
  mtime: number;
}

/** SFTP attributes of a file; `readOnly` clears the write bits (what a download user may do). */
export function attrsOf(stats: Stats, readOnly: boolean): SftpAttrs {
  return {
    mode: readOnly ? stats.mode & ~0o222 : stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_S = 182 * 24 * 3600;

/** An `ls -l` line as OpenSSH's sftp-server writes it (its client prints it for `ls -l`). */
export function longname(
  name: string,
  attrs: SftpAttrs,
  owner: string,
  group: string,
  nlink: number,
  now = Date.now(),
): string {
  const when = new Date(attrs.mtime * 1000);
  const nowS = Math.floor(now / 1000);
  const recent = attrs.mtime > nowS - SIX_MONTHS_S && attrs.mtime <= nowS + 3600;
  const day = String(when.getDate()).padStart(2, ' ');
  const tail = recent
    ? `${String(when.getHours()).padStart(2, '0')}:${String(when.getMinutes()).padStart(2, '0')}`
    : ` ${when.getFullYear()}`;
  const date = `${MONTHS[when.getMonth()]} ${day} ${tail}`;
  return `${modeString(attrs.mode)} ${String(nlink).padStart(3, ' ')} ${owner.padEnd(8, ' ')} ${group.padEnd(8, ' ')} ${String(attrs.size).padStart(8, ' ')} ${date} ${name}`;
}

function modeString(mode: number): string {
  const type = mode & 0o170000;
  const kind =
    type === 0o040000
      ? 'd'
      : type === 0o120000
        ? 'l'
        : type === 0o020000
          ? 'c'
          : type === 0o060000
            ? 'b'
            : type === 0o010000
              ? 'p'
              : type === 0o140000
                ? 's'
                : '-';
  let bits = '';
  for (const [shift, special, specialChar] of [
    [6, 0o4000, 's'],
    [3, 0o2000, 's'],
    [0, 0o1000, 't'],
  ] as const) {
    const triple = (mode >> shift) & 7;
    const exec = triple & 1;
    const hasSpecial = (mode & special) !== 0;
    bits += triple & 4 ? 'r' : '-';
    bits += triple & 2 ? 'w' : '-';
    bits += hasSpecial ? (exec ? specialChar : specialChar.toUpperCase()) : exec ? 'x' : '-';
  }
  return `${kind}${bits}`;
}
