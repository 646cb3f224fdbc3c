import type { FileHandle } from 'node:fs/promises';
import { RequestOrder } from './ordering.js';

/** An open directory: its names, read out by READDIR in batches. */
export interface DirHandle {
  kind: 'dir';
  virtual: string;
  /** The folder, opened: entries are looked up through it (`path`), never by a name that could be swapped. */
  file: FileHandle;
  path: string;
  names: string[];
  next: number;
}

/** A file opened for reading in the home. */
export interface ReadHandle {
  kind: 'read';
  virtual: string;
  file: FileHandle;
  bytes: number;
}

/** A file being uploaded: written to `stagingPath`, moved to `target` when the client closes it. */
export interface UploadHandle {
  kind: 'upload';
  virtual: string;
  target: string;
  stagingPath: string;
  file: FileHandle;
  /** Opened with READ as well as WRITE. */
  readable: boolean;
  /** APPEND: each WRITE goes to the end of what arrived before it, whatever its offset. */
  append: boolean;
  /** EXCL: publishing must not replace a file that appeared in the meantime. */
  exclusive: boolean;
  /** Started from a copy of the existing file (resume), rather than empty. */
  resumed: boolean;
  /** Where the next APPEND write goes: the furthest byte the file reaches (its size when opened, then writes). */
  end: number;
  /** Times the client set (SETSTAT/FSETSTAT), applied again when the file is published. */
  times: { atime: number; mtime: number } | undefined;
  bytesWritten: number;
  /** The first write error: the upload can no longer be published. */
  failed: unknown;
  startedAt: number;
}

export type Handle = DirHandle | ReadHandle | UploadHandle;

interface Entry {
  handle: Handle;
  /** Requests in flight on this handle; CLOSE and cleanup wait for them before closing the file. */
  pending: Set<Promise<unknown>>;
  /** Reply order and range serialisation of the requests on this handle. */
  order: RequestOrder;
}

/**
 * The handles of one SFTP session, keyed by the 4-byte id handed to the client. Ids are never reused within a
 * session, so a stale handle can never reach someone else's file.
 */
export class HandleTable {
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  add(handle: Handle): Buffer {
    const id = this.nextId++;
    this.entries.set(id, { handle, pending: new Set(), order: new RequestOrder() });
    const bytes = Buffer.allocUnsafe(4);
    bytes.writeUInt32BE(id, 0);
    return bytes;
  }

  get(bytes: Buffer): Handle | undefined {
    return this.entry(bytes)?.handle;
  }

  /** The request order of the handle, or undefined when the handle is not (or no longer) open. */
  orderOf(bytes: Buffer): RequestOrder | undefined {
    return this.entry(bytes)?.order;
  }

  /** Runs `work` as a request on the handle, so that closing it waits until `work` is done. */
  track<T>(bytes: Buffer, work: Promise<T>): Promise<T> {
    const entry = this.entry(bytes);
    if (!entry) return work;
    entry.pending.add(work);
    const forget = () => entry.pending.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Removes the handle (no new request can reach it) and resolves once its requests in flight are done. */
  async remove(bytes: Buffer): Promise<Handle | undefined> {
    const id = idOf(bytes);
    const entry = id === undefined ? undefined : this.entries.get(id);
    if (!entry || id === undefined) return undefined;
    this.entries.delete(id);
    await Promise.allSettled([...entry.pending]);
    return entry.handle;
  }

  /** Removes every handle, each once its requests are done: for the end of the session. */
  async drain(): Promise<Handle[]> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.flatMap((entry) => [...entry.pending]));
    return entries.map((entry) => entry.handle);
  }

  private entry(bytes: Buffer): Entry | undefined {
    const id = idOf(bytes);
    return id === undefined ? undefined : this.entries.get(id);
  }
}

function idOf(bytes: Buffer): number | undefined {
  return bytes.length === 4 ? bytes.readUInt32BE(0) : undefined;
}
