import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import {
  copyFile,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rmdir,
  stat,
  statfs,
  unlink,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FileEntry, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import type { SftpAction } from '../../core/permissions.js';
import { type Handle, HandleTable, type UploadHandle } from './handles.js';
import { type Home, keyOf, normalizeVirtual } from './paths.js';
import { attrsOf, denied, failure, longname, noSuchFile, type SftpAttrs, STATUS_CODE, statusOf } from './replies.js';
import { installWire, readStrings, uint64s, type Wire } from './wire.js';

const { OPEN_MODE } = ssh2.utils.sftp;

/** Largest READ answered and WRITE accepted (advertised through limits@openssh.com): OpenSSH's own figures. */
export const MAX_READ = 256 * 1024 - 1024;
const MAX_PACKET = 256 * 1024;
/** Open handles per session. */
export const MAX_HANDLES = 256;
/** Bytes of WRITE data received but not yet on disk before the channel stops granting window. */
const MAX_PENDING_WRITE_BYTES = 64 * 1024 * 1024;
const READDIR_BATCH = 100;

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
  log: (event: { event: string; [key: string]: unknown }) => void;
  /** Called once per upload published in the home (after the client got its OK). */
  uploadCompleted: (key: string) => void;
  /** Marks the connection active (idle timeout). */
  touch: () => void;
}

type Reply =
  | { status: number; message?: string }
  | { handle: Buffer }
  | { data: Buffer }
  | { names: { filename: string; longname: string; attrs: SftpAttrs | Record<string, never> }[] }
  | { attrs: SftpAttrs }
  | { extended: Buffer };

const OK: Reply = { status: STATUS_CODE.OK };

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
    sftp.on('READ', (reqid, handle, offset, length) =>
      this.run(reqid, () => this.read(handle, offset, length), handle),
    );
    sftp.on('WRITE', (reqid, handle, offset, data) => this.write(reqid, handle, offset, data));
    sftp.on('CLOSE', (reqid, handle) => this.run(reqid, () => this.close(handle)));
    sftp.on('FSTAT', (reqid, handle) => this.run(reqid, () => this.fstat(handle), handle));
    sftp.on('FSETSTAT', (reqid, handle) => this.run(reqid, () => this.fsetstat(handle), handle));
    sftp.on('OPENDIR', (reqid, path) => this.run(reqid, () => this.opendir(path)));
    sftp.on('READDIR', (reqid, handle) => this.run(reqid, () => this.readdir(handle), handle));
    sftp.on('STAT', (reqid, path) => this.run(reqid, () => this.stat(path, true)));
    sftp.on('LSTAT', (reqid, path) => this.run(reqid, () => this.stat(path, false)));
    sftp.on('SETSTAT', (reqid, path) => this.run(reqid, () => this.setstat(path)));
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

  private reply(reqid: number, reply: Reply): void {
    const sftp = this.sftp;
    try {
      if ('status' in reply) sftp.status(reqid, reply.status, reply.message);
      else if ('handle' in reply) sftp.handle(reqid, reply.handle);
      else if ('data' in reply) sftp.data(reqid, reply.data);
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
    const path = await this.ctx.home.confine(virtual, { follow: true });
    // O_NONBLOCK: opening a FIFO planted in the home must not hang a thread; regular files ignore it.
    const file = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
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
    const target = await this.ctx.home.confine(virtual, { follow: true });
    const existing = await stat(target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (existing?.isDirectory()) throw failure('Is a directory');
    if (existing && !existing.isFile()) throw failure('Not a regular file');
    if (existing && flags & OPEN_MODE.EXCL) throw failure('File already exists');
    if (!existing) {
      if (!(flags & OPEN_MODE.CREAT)) throw noSuchFile();
      const parent = await stat(dirname(target)).catch(() => undefined);
      if (!parent?.isDirectory()) throw noSuchFile('No such directory');
    }

    const stagingPath = join(this.ctx.stagingDir, `${randomBytes(12).toString('hex')}.upload`);
    const resumed = existing !== undefined && !(flags & OPEN_MODE.TRUNC);
    if (resumed) await copyFile(target, stagingPath, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
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
      end: resumed ? existing.size : 0,
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

  private async read(handleBytes: Buffer, offset: number, length: number): Promise<Reply> {
    const handle = this.table.get(handleBytes);
    if (!handle) throw failure('Invalid handle');
    if (handle.kind === 'dir') throw failure('Is a directory');
    if (handle.kind === 'upload' && !handle.readable) throw denied('Permission denied: file not opened for reading');
    const size = Math.min(length, MAX_READ);
    if (size <= 0) return { data: Buffer.alloc(0) };
    const buffer = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.file.read(buffer, 0, size, offset);
    if (bytesRead === 0) return { status: STATUS_CODE.EOF };
    if (handle.kind === 'read') handle.bytes += bytesRead;
    return { data: bytesRead === size ? buffer : buffer.subarray(0, bytesRead) };
  }

  private write(reqid: number, handleBytes: Buffer, offset: number, data: Buffer): void {
    const handle = this.table.get(handleBytes);
    if (handle?.kind !== 'upload') {
      this.run(reqid, async () => {
        throw handle ? denied('Permission denied: file not opened for writing') : failure('Invalid handle');
      });
      return;
    }
    // The position is taken on arrival, so APPEND writes land in the order the client sent them even though the
    // writes themselves run in parallel.
    const position = handle.append ? handle.end : offset;
    handle.end = Math.max(handle.end, position + data.length);
    this.pendingWriteBytes += data.length;
    this.run(
      reqid,
      async () => {
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
      },
      handleBytes,
    );
  }

  private async close(handleBytes: Buffer): Promise<Reply> {
    const handle = await this.table.remove(handleBytes);
    if (!handle) throw failure('Invalid handle');
    if (handle.kind === 'dir') return OK;
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
      const size = (await handle.file.stat()).size;
      await handle.file.close();
      // The home may have changed while the file was being written: check the target again.
      await this.ctx.home.confine(handle.virtual, { follow: true });
      if (handle.exclusive) {
        await link(handle.stagingPath, handle.target);
        await unlink(handle.stagingPath).catch(() => undefined);
      } else {
        await rename(handle.stagingPath, handle.target);
      }
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
    if (handle.kind !== 'dir') await handle.file.close().catch(() => undefined);
  }

  private logDownload(handle: Extract<Handle, { kind: 'read' }>, closed: boolean): void {
    this.ctx.log({ event: 'download', ...this.who(), key: keyOf(handle.virtual), bytes: handle.bytes, closed });
  }

  private async fstat(handleBytes: Buffer): Promise<Reply> {
    const handle = this.table.get(handleBytes);
    if (!handle) throw failure('Invalid handle');
    const stats = handle.kind === 'dir' ? await stat(handle.fsPath) : await handle.file.stat();
    return { attrs: attrsOf(stats, this.readOnly) };
  }

  /** Times and modes are accepted and ignored, as Transfer Family does with SetStatOption ENABLE_NO_OP. */
  private async fsetstat(handleBytes: Buffer): Promise<Reply> {
    this.require('write');
    if (!this.table.get(handleBytes)) throw failure('Invalid handle');
    return OK;
  }

  private async setstat(path: string): Promise<Reply> {
    this.require('write');
    const virtual = normalizeVirtual(path);
    await stat(await this.ctx.home.confine(virtual, { follow: true }));
    return OK;
  }

  // ---------------------------------------------------------------------------------------------- names

  private async stat(path: string, follow: boolean): Promise<Reply> {
    this.require('list');
    const virtual = normalizeVirtual(path);
    const fsPath = await this.ctx.home.confine(virtual, { follow });
    const stats = follow ? await stat(fsPath) : await lstat(fsPath);
    return { attrs: attrsOf(stats, this.readOnly) };
  }

  private async realpath(path: string): Promise<Reply> {
    this.require('list');
    const virtual = normalizeVirtual(path);
    let resolved = virtual;
    try {
      // A symlink inside the home resolves to where it points, when that is inside the home too.
      resolved = this.ctx.home.toVirtual(await realpath(this.ctx.home.toFs(virtual))) ?? virtual;
    } catch {
      // does not exist (yet): the normalised path is the answer
    }
    return { names: [{ filename: resolved, longname: resolved, attrs: {} }] };
  }

  private async readlink(path: string): Promise<Reply> {
    this.require('list');
    const fsPath = await this.ctx.home.confine(normalizeVirtual(path), { follow: false });
    if (!(await lstat(fsPath)).isSymbolicLink()) throw failure('Not a symbolic link');
    const target = this.ctx.home.toVirtual(await realpath(fsPath));
    if (target === undefined) throw denied('Permission denied: the link leaves your home folder');
    return { names: [{ filename: target, longname: target, attrs: {} }] };
  }

  private async opendir(path: string): Promise<Reply> {
    this.require('list');
    if (this.table.size >= this.table.limit) throw failure('Too many open handles in this session');
    const virtual = normalizeVirtual(path);
    const fsPath = await this.ctx.home.confine(virtual, { follow: true });
    if (!(await stat(fsPath)).isDirectory()) throw noSuchFile('Not a directory');
    const names = (await readdir(fsPath)).sort();
    return { handle: this.table.add({ kind: 'dir', virtual, fsPath, names, next: 0 }) };
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
          const stats: Stats | undefined = await lstat(join(handle.fsPath, name)).catch(() => undefined);
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
    const fsPath = await this.ctx.home.confine(virtual, { follow: false });
    if ((await lstat(fsPath)).isDirectory()) throw failure('Is a directory (use rmdir)');
    await unlink(fsPath);
    this.ctx.log({ event: 'remove', ...this.who(), key: keyOf(virtual) });
    return OK;
  }

  private async rmdir(path: string): Promise<Reply> {
    this.require('delete');
    const virtual = normalizeVirtual(path);
    if (virtual === '/') throw denied('Permission denied: cannot remove your home folder');
    const fsPath = await this.ctx.home.confine(virtual, { follow: false });
    if (!(await lstat(fsPath)).isDirectory()) throw failure('Not a directory');
    await rmdir(fsPath);
    this.ctx.log({ event: 'rmdir', ...this.who(), key: `${keyOf(virtual)}/` });
    return OK;
  }

  private async mkdir(path: string): Promise<Reply> {
    this.require('mkdir');
    const virtual = normalizeVirtual(path);
    if (virtual === '/') throw failure('File or directory already exists');
    const fsPath = await this.ctx.home.confine(virtual, { follow: false });
    await mkdir(fsPath, 0o755);
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
    const sourcePath = await this.ctx.home.confine(source, { follow: false });
    const destinationPath = await this.ctx.home.confine(destination, { follow: false });
    const stats = await lstat(sourcePath);
    if (source === destination) return OK;
    if (stats.isDirectory() && destination.startsWith(`${source}/`)) {
      throw failure('Cannot move a folder into itself');
    }
    if (replace) {
      await rename(sourcePath, destinationPath);
    } else if (stats.isDirectory()) {
      if (
        await lstat(destinationPath).then(
          () => true,
          () => false,
        )
      )
        throw failure('File or directory already exists');
      await rename(sourcePath, destinationPath);
    } else {
      await link(sourcePath, destinationPath);
      await unlink(sourcePath);
    }
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
        return this.statvfs(await this.ctx.home.confine(normalizeVirtual(path.toString('utf8')), { follow: true }));
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
      default:
        return { status: STATUS_CODE.OP_UNSUPPORTED, message: `Unsupported extension ${name.slice(0, 64)}` };
    }
  }

  private async statvfs(path: string): Promise<Reply> {
    const fs = await statfs(path);
    const ST_RDONLY = 1;
    const ST_NOSUID = 2;
    return {
      extended: uint64s([
        fs.bsize,
        fs.bsize,
        fs.blocks,
        fs.bfree,
        fs.bavail,
        fs.files,
        fs.ffree,
        fs.ffree,
        0,
        (this.readOnly ? ST_RDONLY : 0) | ST_NOSUID,
        255,
      ]),
    };
  }
}
