import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import {
  copyFile,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  rename,
  rmdir,
  truncate,
  unlink,
  utimes,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntry, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import type { SftpAction } from '../../core/permissions.js';
import { checkFile, parseCheckFileTail } from './check-file.js';
import { type Handle, HandleTable, type UploadHandle } from './handles.js';
import type { ByteRange } from './ordering.js';
import { type Home, keyOf, normalizeVirtual, PathError } from './paths.js';
import { quotaStatvfs } from './quota.js';
import { attrsOf, denied, failure, longname, noSuchFile, type SftpAttrs, STATUS_CODE, statusOf } from './replies.js';
import { FD_PATHS, fdPath } from './resolve.js';
import { DATA_HEADER, installWire, readStrings, uint64s, type Wire } from './wire.js';

const { OPEN_MODE } = ssh2.utils.sftp;

/** Largest READ answered and WRITE accepted (advertised through limits@openssh.com): OpenSSH's own figures. */
export const MAX_READ = 256 * 1024 - 1024;
const MAX_PACKET = 256 * 1024;
/** Open handles per session. */
export const MAX_HANDLES = 256;
/** Bytes of WRITE data received but not yet on disk before the channel stops granting window. */
const MAX_PENDING_WRITE_BYTES = 64 * 1024 * 1024;
const READDIR_BATCH = 100;
/** The largest file the server takes (S3's largest object, 5 TiB): offsets past it are refused, never rounded. */
export const MAX_OFFSET = 5 * 2 ** 40;
/**
 * How far past the current end of an upload a WRITE (or a truncate) may reach. Clients write sequentially, so a gap
 * is never needed; a bounded one keeps a stray offset from publishing a huge sparse file.
 */
export const MAX_HOLE = 64 * 1024 * 1024;
const OFFSET_TOO_LARGE = 'Offset beyond the largest file the server accepts (5 TiB)';
const HOLE_TOO_LARGE = 'Write offset too far past the end of the file (at most 64 MiB of gap)';
/** A range that conflicts with nothing: the request is only kept in reply order. */
const NO_RANGE: ByteRange = { start: 0, end: 0, write: false };

/** An SFTP uint64 offset as an exact number, or undefined beyond MAX_OFFSET. */
export function offsetOf(raw: number | bigint): number | undefined {
  if (typeof raw === 'bigint') return raw >= 0n && raw <= BigInt(MAX_OFFSET) ? Number(raw) : undefined;
  return Number.isSafeInteger(raw) && raw >= 0 && raw <= MAX_OFFSET ? raw : undefined;
}

const EXTENSIONS: Record<string, string> = {
  'posix-rename@openssh.com': '1',
  'statvfs@openssh.com': '2',
  'fstatvfs@openssh.com': '2',
  'limits@openssh.com': '1',
  'fsync@openssh.com': '1',
};

export interface SessionUser {
  userName: string;
  client: string;
  role: 'upload' | 'download';
}

export interface SessionContext {
  user: SessionUser;
  ip: string;
  home: Home;
  stagingDir: string;
  permissions: ReadonlySet<SftpAction>;
  /** What statvfs reports as the size of the home (see quota.ts). */
  quotaBytes: number;
  log: (event: { event: string; [key: string]: unknown }) => void;
  /** Called once per upload published in the home (after the client got its OK). */
  uploadCompleted: (key: string) => void;
  /** Runs a change of a published file's times without making it a new version (the object store's rule). */
  keepVersion?: (key: string, change: () => Promise<void>) => Promise<void>;
  /** Marks the connection active (idle timeout). */
  touch: () => void;
}

/** Copies the regular file at `path` (never a symlink: O_NOFOLLOW) to a new `destination`, a reflink where possible. */
async function copyNoFollow(path: string, destination: string): Promise<void> {
  const source = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  try {
    if (!(await source.stat()).isFile()) throw failure('Not a regular file');
    const from = FD_PATHS ? fdPath(source) : path;
    await copyFile(from, destination, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
  } finally {
    await source.close().catch(() => undefined);
  }
}

/** SETSTAT/FSETSTAT attributes as ssh2 parses them (sizes are BigInts once `installWire` asked for them). */
interface SetAttrs {
  size?: number | bigint;
  atime?: number;
  mtime?: number;
}

/** A size a client asks a file to have: refused beyond MAX_OFFSET or more than MAX_HOLE past `end`. */
function sizeOf(raw: number | bigint, end: number): number {
  const size = offsetOf(raw);
  if (size === undefined) throw failure(OFFSET_TOO_LARGE);
  if (size > end + MAX_HOLE) throw failure(HOLE_TOO_LARGE);
  return size;
}

function timesOf(attrs: SetAttrs): { atime: number; mtime: number } | undefined {
  const { atime, mtime } = attrs;
  if (typeof atime !== 'number' && typeof mtime !== 'number') return undefined;
  return { atime: atime ?? mtime ?? 0, mtime: mtime ?? atime ?? 0 };
}

type Reply =
  | { status: number; message?: string }
  | { handle: Buffer }
  | { data: Buffer }
  /** DATA read straight into a packet with DATA_HEADER bytes free in front (see Wire.dataReply). */
  | { packet: Buffer; length: number }
  | { names: { filename: string; longname: string; attrs: SftpAttrs | Record<string, never> }[] }
  | { attrs: SftpAttrs }
  | { extended: Buffer };

const OK: Reply = { status: STATUS_CODE.OK };
/** The `end` reason of a session whose client closed it (sent EOF): the clean close that gets exit-status 0. */
export const CLIENT_ENDED = 'client ended the session';

const ACTION_TEXT: Record<SftpAction, string> = {
  list: 'list folders',
  read: 'download',
  write: 'upload or change files',
  delete: 'delete',
  rename: 'rename',
  mkdir: 'create folders',
};

/**
 * One SFTP session of an authenticated user: every request is confined to the user's home, checked against the
 * role's permissions, and answered exactly once. Uploads go to the staging folder and are published on CLOSE.
 */
export class SftpSession {
  private readonly table = new HandleTable(MAX_HANDLES);
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly wire: Wire | undefined;
  private pendingWriteBytes = 0;
  private ended = false;
  private endPromise: Promise<void> | undefined;
  private readonly readOnly: boolean;
  readonly startedAt = Date.now();
  uploads = 0;
  downloads = 0;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly ctx: SessionContext,
  ) {
    this.readOnly = !ctx.permissions.has('write');
    this.wire = installWire(sftp, {
      extensions: EXTENSIONS,
      overloaded: () => this.pendingWriteBytes > MAX_PENDING_WRITE_BYTES,
    });
    this.register();
  }

  /** Ends the session: waits for requests in flight, closes every handle, discards unfinished uploads. */
  end(reason: string): Promise<void> {
    if (!this.endPromise) {
      this.ended = true;
      this.endPromise = this.cleanup(reason);
    }
    return this.endPromise;
  }

  private async cleanup(reason: string): Promise<void> {
    if (reason === CLIENT_ENDED) {
      // The client closed its side: answer what it asked before, then as a server process that exits cleanly would.
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      this.wire?.exitStatus(0);
    }
    try {
      this.sftp.end();
    } catch {
      // already closed
    }
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    for (const handle of await this.table.drain()) {
      await this.closeQuietly(handle);
      if (handle.kind === 'upload') await this.discard(handle, `session ended before the file was closed (${reason})`);
      if (handle.kind === 'read') this.logDownload(handle, false);
    }
  }

  private register(): void {
    const sftp = this.sftp;
    sftp.on('OPEN', (reqid, filename, flags) => this.run(reqid, () => this.open(filename, flags)));
    // ssh2's offsets are typed as numbers; `installWire` makes them BigInts so that no offset is ever rounded.
    sftp.on('READ', (reqid, handle, offset: number | bigint, length) => this.read(reqid, handle, offset, length));
    sftp.on('WRITE', (reqid, handle, offset: number | bigint, data) => this.write(reqid, handle, offset, data));
    // CLOSE waits for the handle's earlier requests as a barrier; it is not tracked (it removes the handle itself).
    sftp.on('CLOSE', (reqid, handle) => this.onHandle(reqid, handle, undefined, () => this.close(handle), false));
    sftp.on('FSTAT', (reqid, handle) => this.onHandle(reqid, handle, undefined, () => this.fstat(handle)));
    sftp.on('FSETSTAT', (reqid, handle, attrs) =>
      this.onHandle(reqid, handle, undefined, () => this.fsetstat(handle, attrs)),
    );
    sftp.on('OPENDIR', (reqid, path) => this.run(reqid, () => this.opendir(path)));
    sftp.on('READDIR', (reqid, handle) => this.onHandle(reqid, handle, undefined, () => this.readdir(handle)));
    sftp.on('STAT', (reqid, path) => this.run(reqid, () => this.stat(path, true)));
    sftp.on('LSTAT', (reqid, path) => this.run(reqid, () => this.stat(path, false)));
    sftp.on('SETSTAT', (reqid, path, attrs) => this.run(reqid, () => this.setstat(path, attrs)));
    sftp.on('REALPATH', (reqid, path) => this.run(reqid, () => this.realpath(path)));
    sftp.on('READLINK', (reqid, path) => this.run(reqid, () => this.readlink(path)));
    sftp.on('SYMLINK', (reqid) =>
      this.run(reqid, async () => ({
        status: STATUS_CODE.OP_UNSUPPORTED,
        message: 'Symbolic links are not supported',
      })),
    );
    sftp.on('REMOVE', (reqid, path) => this.run(reqid, () => this.remove(path)));
    sftp.on('RMDIR', (reqid, path) => this.run(reqid, () => this.rmdir(path)));
    sftp.on('MKDIR', (reqid, path) => this.run(reqid, () => this.mkdir(path)));
    sftp.on('RENAME', (reqid, from, to) => this.run(reqid, () => this.rename(from, to, false)));
    sftp.on('EXTENDED', (reqid, name, data) => this.run(reqid, () => this.extended(name, data)));
  }

  /** Runs one request and sends its one reply, whatever happens. */
  private run(reqid: number, work: () => Promise<Reply>, handle?: Buffer): void {
    this.ctx.touch();
    let promise: Promise<Reply>;
    try {
      promise = work();
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (handle) promise = this.table.track(handle, promise);
    const done = promise.then(
      (reply) => this.reply(reqid, reply),
      (error: unknown) => {
        const { status, message } = statusOf(error);
        this.reply(reqid, { status, message });
      },
    );
    this.inflight.add(done);
    done.finally(() => this.inflight.delete(done));
  }

  /**
   * Runs one request on a handle: after the earlier requests it overlaps (`range`; none = all of them), and answered
   * after the replies to every earlier request on the handle (see ordering.ts). An unknown handle is answered at once.
   */
  private onHandle(
    reqid: number,
    handleBytes: Buffer,
    range: ByteRange | undefined,
    work: () => Promise<Reply>,
    track = true,
  ): void {
    const order = this.table.orderOf(handleBytes);
    if (!order) {
      this.run(reqid, work);
      return;
    }
    this.ctx.touch();
    const done = order.schedule(
      range,
      () => (track ? this.table.track(handleBytes, work()) : work()),
      (outcome) => this.reply(reqid, outcome.ok ? outcome.value : statusOf(outcome.error)),
    );
    this.inflight.add(done);
    done.finally(() => this.inflight.delete(done));
  }

  private reply(reqid: number, reply: Reply): void {
    const sftp = this.sftp;
    try {
      if ('status' in reply) sftp.status(reqid, reply.status, reply.message);
      else if ('handle' in reply) sftp.handle(reqid, reply.handle);
      else if ('data' in reply) sftp.data(reqid, reply.data);
      else if ('packet' in reply) {
        if (this.wire) this.wire.dataReply(reqid, reply.packet, reply.length);
        else sftp.data(reqid, reply.packet.subarray(DATA_HEADER, DATA_HEADER + reply.length));
      }
      // ssh2 sends an entry without attributes (flags 0) for `attrs: {}`, as REALPATH replies have.
      else if ('names' in reply) sftp.name(reqid, reply.names as FileEntry[]);
      else if ('attrs' in reply) sftp.attrs(reqid, reply.attrs);
      else if (this.wire) this.wire.extendedReply(reqid, reply.extended);
      else sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED);
    } catch (error) {
      this.ctx.log({ event: 'sftp-error', ...this.who(), message: (error as Error).message });
    }
  }

  private require(action: SftpAction): void {
    if (!this.ctx.permissions.has(action)) {
      throw denied(`Permission denied: ${this.ctx.user.role} users cannot ${ACTION_TEXT[action]}`);
    }
  }

  private who() {
    return { user: this.ctx.user.userName, client: this.ctx.user.client, ip: this.ctx.ip };
  }

  // ---------------------------------------------------------------------------------------------- files

  private async open(filename: string, flags: number): Promise<Reply> {
    const virtual = normalizeVirtual(filename);
    const writing = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
    if (this.table.size >= this.table.limit) throw failure('Too many open files in this session');
    if (writing) return this.openUpload(virtual, flags);

    this.require('read');
    // O_NONBLOCK: opening a FIFO planted in the home must not hang a thread; regular files ignore it. O_NOFOLLOW: a
    // symlink swapped in after the resolution fails to open instead of being followed.
    const file = await this.ctx.home.with(virtual, { follow: true }, (entry) =>
      open(entry.path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW),
    );
    try {
      const stats = await file.stat();
      if (stats.isDirectory()) throw failure('Is a directory');
      if (!stats.isFile()) throw failure('Not a regular file');
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    this.downloads++;
    return { handle: this.table.add({ kind: 'read', virtual, file, bytes: 0 }) };
  }

  /**
   * Opens an upload. The client writes into a new file in the staging folder; CLOSE moves it into the home. Opening an
   * existing file without TRUNC (OpenSSH `reput`, resume in WinSCP/FileZilla/lftp) starts the staging file as a copy
   * of it (a reflink where the file system can), so the resumed writes land after what is there and the home keeps
   * the old complete file until the new complete one replaces it.
   */
  private async openUpload(virtual: string, flags: number): Promise<Reply> {
    this.require('write');
    if (virtual === '/') throw failure('Is a directory');
    const stagingPath = join(this.ctx.stagingDir, `${randomBytes(12).toString('hex')}.upload`);
    // The parent folder must exist (a missing one fails the resolution); the target is its resolved virtual path.
    const { target, existing, resumed } = await this.ctx.home.with(virtual, { follow: true }, async (entry) => {
      const existing = entry.stats;
      if (existing?.isDirectory()) throw failure('Is a directory');
      if (existing && !existing.isFile()) throw failure('Not a regular file');
      if (existing && flags & OPEN_MODE.EXCL) throw failure('File already exists');
      if (!existing && !(flags & OPEN_MODE.CREAT)) throw noSuchFile();
      const resumed = existing !== undefined && !(flags & OPEN_MODE.TRUNC);
      if (resumed) await copyNoFollow(entry.path, stagingPath);
      return { target: entry.virtual, existing, resumed };
    });
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(stagingPath, resumed ? 'r+' : 'wx+', 0o644);
    } catch (error) {
      if (resumed) await unlink(stagingPath).catch(() => undefined);
      throw error;
    }
    const handle: UploadHandle = {
      kind: 'upload',
      virtual,
      target,
      stagingPath,
      file,
      readable: (flags & OPEN_MODE.READ) !== 0,
      append: (flags & OPEN_MODE.APPEND) !== 0,
      exclusive: (flags & OPEN_MODE.EXCL) !== 0,
      resumed,
      end: resumed && existing ? existing.size : 0,
      times: undefined,
      bytesWritten: 0,
      failed: undefined,
      startedAt: Date.now(),
    };
    if (this.ended) {
      await this.closeQuietly(handle);
      await this.discard(handle, 'session ended');
      throw failure('Session is closing');
    }
    this.uploads++;
    return { handle: this.table.add(handle) };
  }

  private read(reqid: number, handleBytes: Buffer, rawOffset: number | bigint, length: number): void {
    const offset = offsetOf(rawOffset);
    if (offset === undefined) {
      this.onHandle(reqid, handleBytes, NO_RANGE, async () => {
        throw failure(OFFSET_TOO_LARGE);
      });
      return;
    }
    const size = Math.min(length, MAX_READ);
    this.onHandle(reqid, handleBytes, { start: offset, end: offset + size, write: false }, () =>
      this.readAt(handleBytes, offset, size),
    );
  }

  private async readAt(handleBytes: Buffer, offset: number, size: number): Promise<Reply> {
    const handle = this.table.get(handleBytes);
    if (!handle) throw failure('Invalid handle');
    if (handle.kind === 'dir') throw failure('Is a directory');
    if (handle.kind === 'upload' && !handle.readable) throw denied('Permission denied: file not opened for reading');
    if (size <= 0) return { data: Buffer.alloc(0) };
    // Read straight into the reply packet: the data is not copied again before ssh2 frames it.
    const packet = Buffer.allocUnsafe(DATA_HEADER + size);
    const { bytesRead } = await handle.file.read(packet, DATA_HEADER, size, offset);
    if (bytesRead === 0) return { status: STATUS_CODE.EOF };
    if (handle.kind === 'read') handle.bytes += bytesRead;
    return { packet, length: bytesRead };
  }

  private write(reqid: number, handleBytes: Buffer, rawOffset: number | bigint, data: Buffer): void {
    const handle = this.table.get(handleBytes);
    if (handle?.kind !== 'upload') {
      this.onHandle(reqid, handleBytes, NO_RANGE, async () => {
        throw handle ? denied('Permission denied: file not opened for writing') : failure('Invalid handle');
      });
      return;
    }
    // The position is taken on arrival, so APPEND writes land in the order the client sent them even though the
    // writes themselves run in parallel.
    const offset = offsetOf(rawOffset);
    const position = handle.append ? handle.end : offset;
    const refusal =
      position === undefined || position + data.length > MAX_OFFSET
        ? failure(OFFSET_TOO_LARGE)
        : position > handle.end + MAX_HOLE
          ? failure(HOLE_TOO_LARGE)
          : undefined;
    if (refusal || position === undefined) {
      // The file can no longer be what the client means to upload: it will not be published.
      handle.failed ??= refusal;
      this.onHandle(reqid, handleBytes, NO_RANGE, async () => {
        throw refusal;
      });
      return;
    }
    handle.end = Math.max(handle.end, position + data.length);
    this.pendingWriteBytes += data.length;
    this.onHandle(reqid, handleBytes, { start: position, end: position + data.length, write: true }, async () => {
      try {
        if (handle.failed) throw handle.failed;
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await handle.file.write(data, written, data.length - written, position + written);
          written += bytesWritten;
        }
        handle.bytesWritten += written;
        return OK;
      } catch (error) {
        handle.failed ??= error;
        throw error;
      } finally {
        this.pendingWriteBytes -= data.length;
        if (this.pendingWriteBytes <= MAX_PENDING_WRITE_BYTES / 2) this.wire?.resume();
      }
    });
  }

  private async close(handleBytes: Buffer): Promise<Reply> {
    const handle = await this.table.remove(handleBytes);
    if (!handle) throw failure('Invalid handle');
    if (handle.kind === 'dir') {
      await handle.file.close();
      return OK;
    }
    if (handle.kind === 'read') {
      await handle.file.close();
      this.logDownload(handle, true);
      return OK;
    }
    return this.publish(handle);
  }

  /** Moves a closed upload from the staging folder into the home, then reports it. */
  private async publish(handle: UploadHandle): Promise<Reply> {
    const key = keyOf(handle.virtual);
    try {
      if (handle.failed) throw handle.failed;
      // Times the client set win over the ones the writes left.
      if (handle.times) await handle.file.utimes(handle.times.atime, handle.times.mtime);
      const size = (await handle.file.stat()).size;
      await handle.file.close();
      // The home may have changed while the file was being written: resolve the target again, and move the file
      // into the folder that resolution opened (rename and link never follow the final component).
      await this.ctx.home.with(handle.target, { follow: true }, async (entry) => {
        if (handle.exclusive) {
          await link(handle.stagingPath, entry.path);
          await unlink(handle.stagingPath).catch(() => undefined);
        } else {
          await rename(handle.stagingPath, entry.path);
        }
      });
      this.ctx.log({
        event: 'upload-completed',
        ...this.who(),
        key,
        bytes: size,
        bytesWritten: handle.bytesWritten,
        resumed: handle.resumed,
        ms: Date.now() - handle.startedAt,
      });
      // Reported after the reply is on its way: the client's CLOSE does not wait for the pipeline.
      setImmediate(() => this.ctx.uploadCompleted(key));
      return OK;
    } catch (error) {
      await this.closeQuietly(handle);
      await this.discard(handle, statusOf(error).message);
      throw error;
    }
  }

  private async discard(handle: UploadHandle, reason: string): Promise<void> {
    await unlink(handle.stagingPath).catch(() => undefined);
    this.ctx.log({
      event: 'upload-failed',
      ...this.who(),
      key: keyOf(handle.virtual),
      bytesWritten: handle.bytesWritten,
      reason,
    });
  }

  private async closeQuietly(handle: Handle): Promise<void> {
    await handle.file.close().catch(() => undefined);
  }

  private logDownload(handle: Extract<Handle, { kind: 'read' }>, closed: boolean): void {
    this.ctx.log({ event: 'download', ...this.who(), key: keyOf(handle.virtual), bytes: handle.bytes, closed });
  }

  private async fstat(handleBytes: Buffer): Promise<Reply> {
    const handle = this.table.get(handleBytes);
    if (!handle) throw failure('Invalid handle');
    const stats = await handle.file.stat();
    return { attrs: attrsOf(stats, this.readOnly) };
  }

  /**
   * On an upload: a size truncates (or extends, within MAX_HOLE) the file being written, times are kept and applied
   * when it is published (`sftp -p`, WinSCP's "preserve timestamp"). Modes and owners are accepted and ignored, as
   * Transfer Family does with SetStatOption ENABLE_NO_OP.
   */
  private async fsetstat(handleBytes: Buffer, attrs: SetAttrs): Promise<Reply> {
    this.require('write');
    const handle = this.table.get(handleBytes);
    if (!handle) throw failure('Invalid handle');
    const size = attrs.size === undefined ? undefined : sizeOf(attrs.size, handle.kind === 'upload' ? handle.end : 0);
    const times = timesOf(attrs);
    if (handle.kind !== 'upload') {
      if (size !== undefined) throw denied('Permission denied: file not opened for writing');
      return OK;
    }
    if (size !== undefined) {
      await handle.file.truncate(size);
      handle.end = size;
    }
    if (times) {
      handle.times = times;
      await handle.file.utimes(times.atime, times.mtime);
    }
    return OK;
  }

  /**
   * Times are set on the file (rclone and `sftp -p` compare them with the source's to skip unchanged files). A size
   * rewrites the upload at that length: staged, swapped in atomically and reported as a new upload, like any other.
   */
  private async setstat(path: string, attrs: SetAttrs): Promise<Reply> {
    this.require('write');
    const virtual = normalizeVirtual(path);
    const times = timesOf(attrs);
    const resized = await this.ctx.home.with(virtual, { follow: true }, async (entry) => {
      const stats = entry.stats;
      if (!stats) throw noSuchFile();
      if (attrs.size !== undefined) {
        if (!stats.isFile()) throw failure('Not a regular file');
        const size = sizeOf(attrs.size, stats.size);
        if (size !== stats.size) {
          await this.rewriteAtSize(entry.path, size, times);
          return entry.virtual;
        }
      }
      // lutimes: never the target of a symlink swapped in since the resolution.
      if (times) {
        const change = () => lutimes(entry.path, times.atime, times.mtime);
        if (this.ctx.keepVersion && stats.isFile()) await this.ctx.keepVersion(keyOf(entry.virtual), change);
        else await change();
      }
      return undefined;
    });
    if (resized !== undefined) {
      const key = keyOf(resized);
      this.ctx.log({ event: 'upload-completed', ...this.who(), key, truncated: true });
      setImmediate(() => this.ctx.uploadCompleted(key));
    }
    return OK;
  }

  /** A published file rewritten at `size`: a staged copy, truncated, renamed over the entry (atomic for readers). */
  private async rewriteAtSize(
    entryPath: string,
    size: number,
    times: { atime: number; mtime: number } | undefined,
  ): Promise<void> {
    const stagingPath = join(this.ctx.stagingDir, `${randomBytes(12).toString('hex')}.upload`);
    try {
      await copyNoFollow(entryPath, stagingPath);
      await truncate(stagingPath, size);
      if (times) await utimes(stagingPath, times.atime, times.mtime);
      await rename(stagingPath, entryPath);
    } catch (error) {
      await unlink(stagingPath).catch(() => undefined);
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------- names

  private async stat(path: string, follow: boolean): Promise<Reply> {
    this.require('list');
    const virtual = normalizeVirtual(path);
    const stats = await this.ctx.home.with(virtual, { follow }, async (entry) => entry.stats);
    if (!stats) throw noSuchFile();
    return { attrs: attrsOf(stats, this.readOnly) };
  }

  private async realpath(path: string): Promise<Reply> {
    this.require('list');
    const virtual = normalizeVirtual(path);
    let resolved = virtual;
    try {
      // A symlink inside the home resolves to where it points, when that is inside the home too.
      resolved = await this.ctx.home.with(virtual, { follow: true }, async (entry) => entry.virtual);
    } catch {
      // does not exist (yet), or leads out: the normalised path is the answer
    }
    return { names: [{ filename: resolved, longname: resolved, attrs: {} }] };
  }

  private async readlink(path: string): Promise<Reply> {
    this.require('list');
    const virtual = normalizeVirtual(path);
    const stats = await this.ctx.home.with(virtual, { follow: false }, async (entry) => entry.stats);
    if (!stats) throw noSuchFile();
    if (!stats.isSymbolicLink()) throw failure('Not a symbolic link');
    let target: string;
    try {
      target = await this.ctx.home.with(virtual, { follow: true }, async (entry) => entry.virtual);
    } catch (error) {
      if (error instanceof PathError) throw denied('Permission denied: the link leaves your home folder');
      throw error;
    }
    return { names: [{ filename: target, longname: target, attrs: {} }] };
  }

  private async opendir(path: string): Promise<Reply> {
    this.require('list');
    if (this.table.size >= this.table.limit) throw failure('Too many open handles in this session');
    const virtual = normalizeVirtual(path);
    const { file, path: dirPath } = await this.ctx.home.with(virtual, { follow: true }, async (entry) => {
      if (!entry.stats) throw noSuchFile();
      if (!entry.stats.isDirectory()) throw noSuchFile('Not a directory');
      const file = await open(entry.path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
      return { file, path: FD_PATHS ? fdPath(file) : entry.path };
    });
    try {
      const names = (await readdir(dirPath)).sort();
      return { handle: this.table.add({ kind: 'dir', virtual, file, path: dirPath, names, next: 0 }) };
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
  }

  private async readdir(handleBytes: Buffer): Promise<Reply> {
    const handle = this.table.get(handleBytes);
    if (handle?.kind !== 'dir') throw failure('Invalid handle');
    const { user } = this.ctx;
    while (handle.next < handle.names.length) {
      const batch = handle.names.slice(handle.next, handle.next + READDIR_BATCH);
      handle.next += batch.length;
      const entries = await Promise.all(
        batch.map(async (name) => {
          const stats: Stats | undefined = await lstat(`${handle.path}/${name}`).catch(() => undefined);
          if (!stats) return undefined; // vanished since OPENDIR
          const attrs = attrsOf(stats, this.readOnly);
          return { filename: name, longname: longname(name, attrs, user.userName, user.client, stats.nlink), attrs };
        }),
      );
      const names = entries.filter((entry) => entry !== undefined);
      if (names.length > 0) return { names };
    }
    return { status: STATUS_CODE.EOF };
  }

  private async remove(path: string): Promise<Reply> {
    this.require('delete');
    const virtual = normalizeVirtual(path);
    if (virtual === '/') throw denied();
    await this.ctx.home.with(virtual, { follow: false }, async (entry) => {
      if (!entry.stats) throw noSuchFile();
      if (entry.stats.isDirectory()) throw failure('Is a directory (use rmdir)');
      await unlink(entry.path);
    });
    this.ctx.log({ event: 'remove', ...this.who(), key: keyOf(virtual) });
    return OK;
  }

  private async rmdir(path: string): Promise<Reply> {
    this.require('delete');
    const virtual = normalizeVirtual(path);
    if (virtual === '/') throw denied('Permission denied: cannot remove your home folder');
    await this.ctx.home.with(virtual, { follow: false }, async (entry) => {
      if (!entry.stats) throw noSuchFile();
      if (!entry.stats.isDirectory()) throw failure('Not a directory');
      await rmdir(entry.path);
    });
    this.ctx.log({ event: 'rmdir', ...this.who(), key: `${keyOf(virtual)}/` });
    return OK;
  }

  private async mkdir(path: string): Promise<Reply> {
    this.require('mkdir');
    const virtual = normalizeVirtual(path);
    if (virtual === '/') throw failure('File or directory already exists');
    await this.ctx.home.with(virtual, { follow: false }, (entry) => mkdir(entry.path, 0o755));
    this.ctx.log({ event: 'mkdir', ...this.who(), key: `${keyOf(virtual)}/` });
    return OK;
  }

  /**
   * RENAME refuses to replace an existing target (SFTP v3, and what OpenSSH's server does); files move with link +
   * unlink so that "refuse" is atomic. posix-rename@openssh.com replaces, like rename(2).
   */
  private async rename(from: string, to: string, replace: boolean): Promise<Reply> {
    this.require('rename');
    const source = normalizeVirtual(from);
    const destination = normalizeVirtual(to);
    if (source === '/' || destination === '/') throw denied('Permission denied: cannot rename your home folder');
    await this.ctx.home.with(source, { follow: false }, (from) =>
      this.ctx.home.with(destination, { follow: false }, async (to) => {
        const stats = from.stats;
        if (!stats) throw noSuchFile();
        if (from.virtual === to.virtual) return;
        if (stats.isDirectory() && to.virtual.startsWith(`${from.virtual}/`)) {
          throw failure('Cannot move a folder into itself');
        }
        if (replace) {
          await rename(from.path, to.path);
        } else if (stats.isDirectory()) {
          if (to.stats) throw failure('File or directory already exists');
          await rename(from.path, to.path);
        } else {
          await link(from.path, to.path);
          await unlink(from.path);
        }
      }),
    );
    this.ctx.log({ event: 'rename', ...this.who(), from: keyOf(source), to: keyOf(destination), replace });
    return OK;
  }

  // ---------------------------------------------------------------------------------------------- extensions

  private async extended(name: string, data: Buffer | undefined): Promise<Reply> {
    switch (name) {
      case 'posix-rename@openssh.com': {
        const [from, to] = readStrings(data, 2) ?? [];
        if (!from || !to) return { status: STATUS_CODE.BAD_MESSAGE, message: 'Malformed request' };
        return this.rename(from.toString('utf8'), to.toString('utf8'), true);
      }
      case 'statvfs@openssh.com': {
        const [path] = readStrings(data, 1) ?? [];
        if (!path) return { status: STATUS_CODE.BAD_MESSAGE, message: 'Malformed request' };
        this.require('list');
        await this.ctx.home.with(normalizeVirtual(path.toString('utf8')), { follow: true }, async (entry) => {
          if (!entry.stats) throw noSuchFile();
        });
        return this.statvfs(this.ctx.home.root);
      }
      case 'fstatvfs@openssh.com': {
        const [handleBytes] = readStrings(data, 1) ?? [];
        if (!handleBytes || !this.table.get(handleBytes)) throw failure('Invalid handle');
        return this.statvfs(this.ctx.home.root);
      }
      case 'limits@openssh.com':
        return { extended: uint64s([MAX_PACKET, MAX_READ, MAX_READ, MAX_HANDLES]) };
      case 'fsync@openssh.com': {
        const [handleBytes] = readStrings(data, 1) ?? [];
        const handle = handleBytes ? this.table.get(handleBytes) : undefined;
        if (!handle || !handleBytes) throw failure('Invalid handle');
        if (handle.kind === 'upload') await this.table.track(handleBytes, handle.file.datasync());
        return OK;
      }
      case 'check-file':
      case 'check-file-handle': {
        this.require('read');
        const [handleBytes] = readStrings(data, 1) ?? [];
        const handle = handleBytes ? this.table.get(handleBytes) : undefined;
        if (!handle || !handleBytes || !data || handle.kind === 'dir') throw failure('Invalid handle');
        if (handle.kind === 'upload' && !handle.readable)
          throw denied('Permission denied: file not opened for reading');
        const request = parseCheckFileTail(data, 4 + handleBytes.length);
        if (!request) return { status: STATUS_CODE.BAD_MESSAGE, message: 'Malformed request' };
        return { extended: await this.table.track(handleBytes, checkFile(handle.file, request)) };
      }
      case 'check-file-name': {
        this.require('read');
        const [path] = readStrings(data, 1) ?? [];
        const request = path && data ? parseCheckFileTail(data, 4 + path.length) : undefined;
        if (!path || !request) return { status: STATUS_CODE.BAD_MESSAGE, message: 'Malformed request' };
        const file = await this.ctx.home.with(normalizeVirtual(path.toString('utf8')), { follow: true }, (entry) =>
          open(entry.path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW),
        );
        try {
          if (!(await file.stat()).isFile()) throw failure('Not a regular file');
          return { extended: await checkFile(file, request) };
        } finally {
          await file.close().catch(() => undefined);
        }
      }
      default:
        return { status: STATUS_CODE.OP_UNSUPPORTED, message: `Unsupported extension ${name.slice(0, 64)}` };
    }
  }

  private async statvfs(path: string): Promise<Reply> {
    const fs = await quotaStatvfs(path, this.ctx.quotaBytes, this.readOnly);
    return {
      extended: uint64s([
        fs.bsize,
        fs.frsize,
        fs.blocks,
        fs.bfree,
        fs.bavail,
        fs.files,
        fs.ffree,
        fs.favail,
        fs.fsid,
        fs.flag,
        fs.namemax,
      ]),
    };
  }
}
