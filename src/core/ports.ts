/**
 * The seams between pure logic (core/, templates/) and the outside world (aws/, local/, ui/).
 * Core code receives these; it never reaches for the terminal, the network or the AWS SDK itself.
 */
import { SftpctlError } from './errors.js';

/** Asks a person for input. The CLI backs it with @inquirer/prompts; tests back it with scripted answers. */
export interface Prompter {
  input(question: {
    name: string;
    message: string;
    default?: string;
    validate?: (value: string) => true | string;
  }): Promise<string>;
  confirm(question: { name: string; message: string; default?: boolean }): Promise<boolean>;
  /** Hidden input (passphrases). */
  password(question: { name: string; message: string; validate?: (value: string) => true | string }): Promise<string>;
  select<T extends string>(question: {
    name: string;
    message: string;
    choices: readonly { value: T; name?: string; description?: string }[];
    default?: T;
  }): Promise<T>;
  checkbox<T extends string>(question: {
    name: string;
    message: string;
    choices: readonly { value: T; name?: string; checked?: boolean }[];
    validate?: (values: readonly T[]) => true | string;
  }): Promise<T[]>;
}

/** Reads the text files a config refers to (SSH and PGP keys), relative to the config's folder. */
export interface FileReader {
  /** Resolves a path as written in the config to the absolute path that will be read. */
  resolve(path: string): string;
  /** The file's bytes, or undefined when it does not exist. Other I/O errors throw. */
  read(path: string): Promise<Uint8Array | undefined>;
}

export interface Clock {
  now(): Date;
}

/** What a store knows about one object. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
  /** User metadata (x-amz-meta-*), lower-case keys. */
  metadata: Record<string, string>;
}

/**
 * Buckets of objects: S3 in AWS, folders on disk in `sftpctl local up`. The pipeline only ever talks to this.
 * Writes are atomic: an object appears under its key whole, or not at all. S3's object model: every completed write
 * is a new version with a fresh etag and no tags; metadata and tags belong to the version they were written for.
 */
export interface ObjectStore {
  /**
   * Streams an object; undefined when it does not exist. The caller owns the body: read it to its end, or
   * {@link discardBody} it (an open file or connection otherwise lingers until garbage collection).
   */
  get(bucket: string, key: string): Promise<{ body: NodeJS.ReadableStream; info: ObjectInfo } | undefined>;
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /**
   * Streams `body` into staging (a multipart upload, a temp file) and publishes it under `key` only when `body` ended
   * without error and `verified` (if given) resolved; otherwise the staging is discarded and the error is rethrown.
   * Constant memory at any size. With `ifCurrent`, only over the object that has that etag now (null: only where there
   * is none): another job published meanwhile fails with PUBLISH_CONFLICT ({@link publishConflictError}), nothing
   * written.
   */
  put(
    bucket: string,
    key: string,
    body: NodeJS.ReadableStream | AsyncIterable<Uint8Array> | Uint8Array | string,
    options?: {
      metadata?: Record<string, string>;
      contentType?: string;
      verified?: Promise<unknown>;
      ifCurrent?: string | null;
    },
  ): Promise<ObjectInfo>;
  copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    options?: { metadata?: Record<string, string> },
  ): Promise<void>;
  delete(bucket: string, key: string): Promise<void>;
  getTags(bucket: string, key: string): Promise<Record<string, string>>;
  /**
   * Replaces the tags of the object's current version. With `ifEtag`, only the version that has that etag is tagged:
   * when the current version has another one, the tags are left off (they were meant for a version that was replaced
   * meanwhile). S3 ETags are content hashes, so there the current version with the same content is tagged, pinned by
   * its version id against one uploaded in between.
   */
  putTags(bucket: string, key: string, tags: Record<string, string>, options?: { ifEtag?: string }): Promise<void>;
  list(bucket: string, prefix?: string): AsyncIterable<ObjectInfo>;
}

/** The client's PGP keys as the platform holds them (Secrets Manager in AWS, files locally). */
export interface KeyStore {
  /** Armored private keys that may decrypt uploads: the current one first, then any being retired. */
  ingressPrivateKeys(client: string): Promise<string[]>;
  /** The partner's armored public key, for egress. */
  partnerPublicKey(client: string): Promise<string>;
}

/** Ends an object body the caller will not read (frees its file handle or connection now). */
export function discardBody(body: NodeJS.ReadableStream): void {
  (body as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}

/** A conditional put (`ifCurrent`) found another object than expected: someone published meanwhile. */
export function publishConflictError(bucket: string, key: string): SftpctlError {
  return new SftpctlError(
    'PUBLISH_CONFLICT',
    `${bucket}/${key} was published by another job meanwhile; nothing was written over it.`,
    'Nothing to do: the job runs again and decides afresh.',
  );
}
