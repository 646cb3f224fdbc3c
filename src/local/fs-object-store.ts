import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SftpctlError } from '../core/errors.js';
import type { ObjectInfo, ObjectStore } from '../core/ports.js';

interface Meta {
  etag: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

/**
 * Buckets as folders under `root` (root/<bucket>/<key>), for `sftpctl local up` and tests. Objects are written to a
 * staging folder and renamed into place, so a reader never sees half a file. Metadata and tags live beside, under
 * root/.meta/. A file dropped into a bucket folder by hand is an object too.
 */
export class FsObjectStore implements ObjectStore {
  constructor(readonly root: string) {}

  /** The file behind an object; keys are confined to their bucket folder. */
  pathOf(bucket: string, key: string): string {
    return join(this.root, confined(bucket, 'bucket'), ...confined(key, 'key').split('/'));
  }

  private metaPath(bucket: string, key: string): string {
    return join(this.root, '.meta', confined(bucket, 'bucket'), ...`${confined(key, 'key')}.json`.split('/'));
  }

  private async readMeta(bucket: string, key: string, size: number, mtime: Date): Promise<Meta> {
    try {
      return JSON.parse(await readFile(this.metaPath(bucket, key), 'utf8')) as Meta;
    } catch {
      return { etag: `${size.toString(16)}-${mtime.getTime().toString(16)}`, metadata: {}, tags: {} };
    }
  }

  private async writeMeta(bucket: string, key: string, meta: Meta): Promise<void> {
    const path = this.metaPath(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify(meta));
    await rename(temp, path);
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const info = await stat(this.pathOf(bucket, key)).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const meta = await this.readMeta(bucket, key, info.size, info.mtime);
    return { key, size: info.size, etag: meta.etag, lastModified: info.mtime, metadata: meta.metadata };
  }

  async get(bucket: string, key: string): Promise<{ body: NodeJS.ReadableStream; info: ObjectInfo } | undefined> {
    const info = await this.head(bucket, key);
    if (!info) return undefined;
    return { body: createReadStream(this.pathOf(bucket, key), { highWaterMark: 1 << 20 }), info };
  }

  async put(
    bucket: string,
    key: string,
    body: NodeJS.ReadableStream | AsyncIterable<Uint8Array> | Uint8Array | string,
    options: { metadata?: Record<string, string>; verified?: Promise<unknown> } = {},
  ): Promise<ObjectInfo> {
    const target = this.pathOf(bucket, key);
    const staging = join(this.root, '.staging', `${randomBytes(8).toString('hex')}.partial`);
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
        createWriteStream(staging, { flags: 'wx' }),
      );
      await options.verified;
      await mkdir(dirname(target), { recursive: true });
      await this.writeMeta(bucket, key, {
        etag: hash.digest('hex'),
        metadata: lowerKeys(options.metadata ?? {}),
        tags: {},
      });
      await rename(staging, target);
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
    const staging = join(this.root, '.staging', `${randomBytes(8).toString('hex')}.partial`);
    await mkdir(dirname(staging), { recursive: true });
    await mkdir(dirname(target), { recursive: true });
    try {
      await copyFile(this.pathOf(from.bucket, from.key), staging);
      await this.writeMeta(to.bucket, to.key, {
        etag: source.etag ?? '',
        metadata: lowerKeys(options.metadata ?? source.metadata),
        tags: {},
      });
      await rename(staging, target);
    } finally {
      await rm(staging, { force: true });
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    await rm(this.pathOf(bucket, key), { force: true });
    await rm(this.metaPath(bucket, key), { force: true });
  }

  /** The object's file facts; OBJECT_NOT_FOUND when it is not there. */
  private async existing(bucket: string, key: string) {
    const info = await stat(this.pathOf(bucket, key)).catch(() => undefined);
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
    return (await this.readMeta(bucket, key, info.size, info.mtime)).tags;
  }

  async putTags(bucket: string, key: string, tags: Record<string, string>): Promise<void> {
    const info = await this.existing(bucket, key);
    await this.writeMeta(bucket, key, { ...(await this.readMeta(bucket, key, info.size, info.mtime)), tags });
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
