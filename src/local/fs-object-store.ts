import { createHash, randomBytes } from 'node:crypto';
import { type BigIntStats, constants, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SftpctlError } from '../core/errors.js';
import { type ObjectInfo, type ObjectStore, publishConflictError } from '../core/ports.js';

/** Which file a metadata record describes: the inode and its content facts. A rename keeps them; any write changes them. */
interface VersionId {
  ino: string;
  size: string;
  mtimeNs: string;
  /** Known when the record was written for a file already in place (a rename changes ctime, so published files omit it). */
  ctimeNs?: string;
}

interface Meta {
  /** The key the record was written for (absent in records of the earlier layout, whose path named the key). */
  key?: string;
  version?: VersionId;
  etag: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

/** Staging files of this store: `<random>.partial`. */
const STAGING_SUFFIX = '.partial';
const RECORDS_DIR = '.records';
const RECORD_SUFFIX = '.json';
/** The earlier layout: one record per key, root/.meta/<bucket>/<key>.json (racing puts could mismatch it). */
const LEGACY_META_DIR = '.meta';

/**
 * Buckets as folders under `root` (root/<bucket>/<key>), for `sftpctl local up` and tests. Objects are written to a
 * staging folder and renamed into place, so a reader never sees half a file. A file dropped into a bucket folder by
 * hand (or by the SFTP server) is an object too.
 *
 * S3's object model: every completed write of a key — a put, an upload closed, a rename into place, a file rewritten
 * in place — is a new version with a fresh etag and no tags. Metadata and tags live beside, under root/.meta/, bound
 * to the version (inode, size, mtime, ctime) they were written for: a record whose file was replaced, rewritten or
 * deleted no longer applies, so tags never survive a new version. A put publishes metadata and content in one step
 * (the record names the staged file, which the rename puts in place whole).
 *
 * Records are named by the file (inode) and key they describe, root/.records/<bucket>/<inode>.<key hash>.json, never
 * by the key alone: two puts of one key racing (duplicate events, two processes) each write their own record, and the
 * file the last rename left in place finds its own, so metadata can never pair with another writer's content.
 */
export class FsObjectStore implements ObjectStore {
  private readonly reading = new Set<NodeJS.ReadableStream & { destroy(error?: Error): void }>();

  constructor(readonly root: string) {}

  /**
   * Ends every read and write in progress with a transient error (STORE_READ_ABORTED), and every later one: jobs
   * still running when the platform stops fail fast, publish nothing (their staging is discarded) and are redone at
   * the next start.
   */
  abortAll(): number {
    this.aborted = true;
    const count = this.reading.size;
    for (const stream of this.reading) stream.destroy(abortedError());
    this.reading.clear();
    return count;
  }

  private aborted = false;

  private track<T extends NodeJS.ReadableStream | NodeJS.WritableStream>(stream: T): T {
    const destroyable = stream as unknown as NodeJS.ReadableStream & { destroy(error?: Error): void };
    // The reader handles errors through its own listeners or pipeline; an abort must never be an uncaught exception.
    stream.on('error', () => undefined);
    if (this.aborted) destroyable.destroy(abortedError());
    else {
      this.reading.add(destroyable);
      stream.once('close', () => this.reading.delete(destroyable));
    }
    return stream;
  }

  /** The folder staging files are written to (same file system as the buckets). */
  get stagingDir(): string {
    return join(this.root, '.staging');
  }

  /** Removes staging files a crashed writer left behind; call only while no writer of this root runs. */
  async cleanStaging(): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const name of await readdir(this.stagingDir).catch(() => [] as string[])) {
      if (!name.endsWith(STAGING_SUFFIX)) continue;
      const path = join(this.stagingDir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      await rm(path, { force: true });
      files++;
      bytes += info.size;
    }
    return { files, bytes };
  }

  /** The file behind an object; keys are confined to their bucket folder. */
  pathOf(bucket: string, key: string): string {
    return join(this.root, confined(bucket, 'bucket'), ...confined(key, 'key').split('/'));
  }

  /** Where the record of `key`'s version held by file `ino` lives (one per file and key: hard links stay apart). */
  private recordPath(bucket: string, key: string, ino: bigint | string): string {
    const keyHash = createHash('sha256').update(confined(key, 'key')).digest('hex').slice(0, 24);
    return join(this.recordsDir(bucket), `${ino}.${keyHash}${RECORD_SUFFIX}`);
  }

  private recordsDir(bucket: string): string {
    return join(this.root, RECORDS_DIR, confined(bucket, 'bucket'));
  }

  /** The record of the version `info` describes; a fresh one (new etag, no metadata, no tags) when none applies. */
  private async readMeta(bucket: string, key: string, info: BigIntStats): Promise<Meta & { version: VersionId }> {
    const meta = await readRecord(this.recordPath(bucket, key, info.ino));
    if (meta?.key === key && meta.version && sameVersion(meta.version, info)) return { ...meta, version: meta.version };
    const legacy = await readRecord(join(this.root, LEGACY_META_DIR, confined(bucket, 'bucket'), `${key}.json`));
    if (legacy?.version && sameVersion(legacy.version, info)) return { ...legacy, key, version: legacy.version };
    return { key, version: versionOf(info, true), etag: freshEtag(info), metadata: {}, tags: {} };
  }

  private async writeMeta(bucket: string, key: string, meta: Meta & { version: VersionId }): Promise<void> {
    const path = this.recordPath(bucket, key, meta.version.ino);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify({ ...meta, key }));
    await rename(temp, path);
  }

  /**
   * Removes records no file holds any more (their version was replaced or deleted behind the store, e.g. by the SFTP
   * server) and carries records of the earlier one-file-per-key layout (root/.meta) over; call only while no writer of
   * this root runs.
   */
  async cleanRecords(): Promise<{ removed: number; migrated: number }> {
    let removed = 0;
    let migrated = 0;
    for (const bucket of await readdir(join(this.root, RECORDS_DIR)).catch(() => [] as string[])) {
      const dir = join(this.root, RECORDS_DIR, bucket);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const path = join(dir, name);
        const meta = name.endsWith(RECORD_SUFFIX) ? await readRecord(path) : undefined;
        const info = meta?.key ? await this.fileInfo(bucket, meta.key) : undefined;
        if (info && meta?.version && sameVersion(meta.version, info)) continue;
        await rm(path, { force: true });
        removed++;
      }
    }
    const legacy = join(this.root, LEGACY_META_DIR);
    for (const bucket of await readdir(legacy).catch(() => [] as string[])) {
      for (const path of await filesUnder(join(legacy, bucket))) {
        if (!path.endsWith('.json')) continue;
        const key = relative(join(legacy, bucket), path).slice(0, -'.json'.length).split(sep).join('/');
        const meta = await readRecord(path);
        const info = await this.fileInfo(bucket, key);
        if (!meta?.version || !info || !sameVersion(meta.version, info)) continue;
        await this.writeMeta(bucket, key, { ...meta, key, version: meta.version });
        migrated++;
      }
    }
    await rm(legacy, { recursive: true, force: true });
    return { removed, migrated };
  }

  /** The facts of the file behind a key, if it is a regular file; undefined for names this store refuses. */
  private async fileInfo(bucket: string, key: string): Promise<BigIntStats | undefined> {
    try {
      const info = await stat(this.pathOf(bucket, key), { bigint: true });
      return info.isFile() ? info : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Runs `change`, which only sets the file's times (an SFTP client's SETSTAT after its upload: rclone, `put -p`), and
   * keeps the key's current version — etag, metadata, tags — bound to the file after it: new times are not a new
   * object. A file replaced meanwhile (another inode or size) is left a new version.
   */
  async keepVersionAcross(bucket: string, key: string, change: () => Promise<void>): Promise<void> {
    const path = this.pathOf(bucket, key);
    const before = await stat(path, { bigint: true }).catch(() => undefined);
    const record = before?.isFile() ? await this.readMeta(bucket, key, before) : undefined;
    await change();
    if (!before || !record) return;
    const after = await stat(path, { bigint: true }).catch(() => undefined);
    if (!after || after.ino !== before.ino || after.size !== before.size) return;
    await this.writeMeta(bucket, key, { ...record, version: versionOf(after, true) });
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const info = await stat(this.pathOf(bucket, key), { bigint: true }).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const meta = await this.readMeta(bucket, key, info);
    return {
      key,
      size: Number(info.size),
      etag: meta.etag,
      lastModified: new Date(Number(info.mtimeNs / 1_000_000n)),
      metadata: meta.metadata,
    };
  }

  async get(bucket: string, key: string): Promise<{ body: NodeJS.ReadableStream; info: ObjectInfo } | undefined> {
    const info = await this.head(bucket, key);
    if (!info) return undefined;
    if (this.aborted) throw abortedError();
    const handle = await openForReading(this.pathOf(bucket, key));
    if (!handle) return undefined;
    const body = this.track(handle.createReadStream({ highWaterMark: 1 << 20 }));
    return { body, info };
  }

  async put(
    bucket: string,
    key: string,
    body: NodeJS.ReadableStream | AsyncIterable<Uint8Array> | Uint8Array | string,
    options: { metadata?: Record<string, string>; verified?: Promise<unknown>; ifCurrent?: string | null } = {},
  ): Promise<ObjectInfo> {
    const target = this.pathOf(bucket, key);
    const staging = join(this.stagingDir, `${randomBytes(8).toString('hex')}${STAGING_SUFFIX}`);
    await mkdir(dirname(staging), { recursive: true });
    const hash = createHash('md5');
    const source =
      typeof body === 'string' || body instanceof Uint8Array
        ? Readable.from([Buffer.from(body)])
        : (body as AsyncIterable<Uint8Array>);
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        }),
        this.track(createWriteStream(staging, { flags: 'wx' })),
      );
      if (this.aborted) throw abortedError();
      await options.verified;
      // Checked just before the rename; not atomic with it, but local jobs of one upload run one at a time, so what
      // it catches is another upload's or a sidecar's job publishing the same output.
      if (options.ifCurrent !== undefined && ((await this.head(bucket, key))?.etag ?? null) !== options.ifCurrent)
        throw publishConflictError(bucket, key);
      await mkdir(dirname(target), { recursive: true });
      await this.publish(staging, bucket, key, {
        etag: `${hash.digest('hex')}-${randomBytes(3).toString('hex')}`,
        metadata: lowerKeys(options.metadata ?? {}),
        tags: {},
      });
    } finally {
      await rm(staging, { force: true });
    }
    return (await this.head(bucket, key))!;
  }

  async copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    options: { metadata?: Record<string, string> } = {},
  ) {
    const source = await this.head(from.bucket, from.key);
    if (!source)
      throw new SftpctlError(
        'OBJECT_NOT_FOUND',
        `${from.bucket}/${from.key} does not exist.`,
        'It may have been deleted meanwhile.',
      );
    const target = this.pathOf(to.bucket, to.key);
    const staging = join(this.stagingDir, `${randomBytes(8).toString('hex')}${STAGING_SUFFIX}`);
    await mkdir(dirname(staging), { recursive: true });
    await mkdir(dirname(target), { recursive: true });
    try {
      const handle = await openForReading(this.pathOf(from.bucket, from.key));
      if (!handle)
        throw new SftpctlError(
          'OBJECT_NOT_FOUND',
          `${from.bucket}/${from.key} does not exist.`,
          'It may have been deleted meanwhile.',
        );
      await pipeline(
        this.track(handle.createReadStream({ highWaterMark: 1 << 20 })),
        this.track(createWriteStream(staging, { flags: 'wx' })),
      );
      await this.publish(staging, to.bucket, to.key, {
        etag: `${source.etag ?? 'copy'}-${randomBytes(3).toString('hex')}`,
        metadata: lowerKeys(options.metadata ?? source.metadata),
        tags: {},
      });
    } finally {
      await rm(staging, { force: true });
    }
  }

  /**
   * Puts a staged file in place as the key's new version: its record is written first, bound to the staged file
   * (which the rename keeps), so the file appears with its metadata in one step and the old record stops applying.
   */
  private async publish(staging: string, bucket: string, key: string, meta: Meta): Promise<void> {
    const staged = await stat(staging, { bigint: true });
    const replaced = await this.fileInfo(bucket, key);
    await this.writeMeta(bucket, key, { ...meta, version: versionOf(staged, false) });
    await rename(staging, this.pathOf(bucket, key));
    if (replaced && replaced.ino !== staged.ino) await rm(this.recordPath(bucket, key, replaced.ino), { force: true });
  }

  async delete(bucket: string, key: string): Promise<void> {
    const info = await this.fileInfo(bucket, key);
    await rm(this.pathOf(bucket, key), { force: true });
    if (info) await rm(this.recordPath(bucket, key, info.ino), { force: true });
  }

  /** The object's file facts; OBJECT_NOT_FOUND when it is not there. */
  private async existing(bucket: string, key: string) {
    const info = await stat(this.pathOf(bucket, key), { bigint: true }).catch(() => undefined);
    if (!info)
      throw new SftpctlError(
        'OBJECT_NOT_FOUND',
        `${bucket}/${key} does not exist.`,
        'It may have been deleted meanwhile.',
      );
    return info;
  }

  async getTags(bucket: string, key: string): Promise<Record<string, string>> {
    const info = await this.existing(bucket, key);
    return (await this.readMeta(bucket, key, info)).tags;
  }

  /**
   * Replaces the tags of the key's current version. With `ifEtag`, only when the current version still has that etag:
   * tags meant for a version that was replaced meanwhile are dropped (on S3 they would land on a noncurrent version).
   */
  async putTags(
    bucket: string,
    key: string,
    tags: Record<string, string>,
    options: { ifEtag?: string } = {},
  ): Promise<void> {
    const info = await this.existing(bucket, key);
    const meta = await this.readMeta(bucket, key, info);
    if (options.ifEtag !== undefined && meta.etag !== options.ifEtag) return;
    await this.writeMeta(bucket, key, { ...meta, tags });
  }

  async *list(bucket: string, prefix = ''): AsyncIterable<ObjectInfo> {
    const base = join(this.root, confined(bucket, 'bucket'));
    const walk = async function* (dir: string): AsyncGenerator<string> {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) yield* walk(path);
        else if (entry.isFile()) yield relative(base, path).split(sep).join('/');
      }
    };
    for await (const key of walk(base)) {
      if (!key.startsWith(prefix)) continue;
      const info = await this.head(bucket, key);
      if (info) yield info;
    }
  }
}

async function readRecord(path: string): Promise<Meta | undefined> {
  return readFile(path, 'utf8')
    .then((text) => JSON.parse(text) as Meta)
    .catch(() => undefined);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

function abortedError(): SftpctlError {
  return new SftpctlError(
    'STORE_READ_ABORTED',
    'The local platform is stopping.',
    'The file is processed at the next start.',
    {
      kind: 'internal',
    },
  );
}

function versionOf(info: BigIntStats, withCtime: boolean): VersionId {
  return {
    ino: info.ino.toString(),
    size: info.size.toString(),
    mtimeNs: info.mtimeNs.toString(),
    ...(withCtime ? { ctimeNs: info.ctimeNs.toString() } : {}),
  };
}

function sameVersion(version: VersionId, info: BigIntStats): boolean {
  return (
    version.ino === info.ino.toString() &&
    version.size === info.size.toString() &&
    version.mtimeNs === info.mtimeNs.toString() &&
    (version.ctimeNs === undefined || version.ctimeNs === info.ctimeNs.toString())
  );
}

/** The etag of a version written by someone else (an upload, a rename, a file copied in): unique to that write. */
function freshEtag(info: BigIntStats): string {
  return createHash('sha256')
    .update(`${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}:${info.birthtimeNs}`)
    .digest('hex')
    .slice(0, 32);
}

function lowerKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key.toLowerCase(), value]));
}

/** Refuses names that would leave their folder: empty segments, `.`/`..`, absolute paths, NUL bytes, backslashes. */
export function confined(name: string, what: 'bucket' | 'key'): string {
  const segments = name.split('/');
  const bad =
    name === '' ||
    name.includes('\0') ||
    name.includes('\\') ||
    name.startsWith('/') ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    (what === 'bucket' && segments.length > 1) ||
    (what === 'bucket' && name.startsWith('.'));
  if (bad)
    throw new SftpctlError(
      'PATH_NOT_ALLOWED',
      `${what} "${name.replace(/\0/g, '\\0')}" is not allowed.`,
      'Use a plain relative name without "..", empty segments or special characters.',
    );
  return name;
}

/**
 * Opens an object's file for the platform's own reads without touching its access time (O_NOATIME): a partner's
 * client sets and reads back its files' times (rclone, `sftp -p`, paramiko's utime), and the pipeline reading a file
 * must not change what the client sees. Undefined when the file is gone (deleted or renamed since it was listed).
 */
async function openForReading(path: string): Promise<FileHandle | undefined> {
  const noAtime = constants.O_RDONLY | (constants.O_NOATIME ?? 0);
  try {
    return await open(path, noAtime);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // O_NOATIME is for the file's owner only (and Linux only): anyone else reads the ordinary way.
    if (code !== 'EPERM' && code !== 'EINVAL') throw error;
    return await open(path, constants.O_RDONLY).catch((retry: NodeJS.ErrnoException) => {
      if (retry.code === 'ENOENT') return undefined;
      throw retry;
    });
  }
}
