import { mkdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCidr } from '../core/config/cidr.js';
import { clientsInEnvironment, userNameOf } from '../core/config/resolve.js';
import type { Config } from '../core/config/schema.js';
import { type IdentityKey, identityRecordsFor } from '../core/identity/record.js';
import { egress } from '../core/pipeline/egress.js';
import { ingest } from '../core/pipeline/ingest.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { sweepUploads } from '../core/pipeline/sweeper.js';
import { DEFAULT_EXPORT_QUIET_MS, type PipelineDeps } from '../core/pipeline/types.js';
import type { PassphraseSource } from '../workflows/client-secrets.js';
import { type DataLock, lockDataDir } from './data-lock.js';
import { watchExports } from './export-watcher.js';
import { FsObjectStore } from './fs-object-store.js';
import { loadHostKey } from './host-key.js';
import { JobQueue } from './job-queue.js';
import { type GeneratedLocalKey, prepareLocalKeys } from './local-keys.js';
import type { AlgorithmPolicy } from './sftp/algorithms.js';
import { type SftpUser, startSftpServer } from './sftp-server.js';

export type LocalLog = (event: { event: string; [key: string]: unknown }) => void;

export interface LocalPlatformOptions {
  config: Config;
  configDir: string;
  env: string;
  host: string;
  port: number;
  dataDir: string;
  /** Loopback addresses bypass the allow-lists (default on locally; partners' CIDRs are public addresses). */
  allowLoopback: boolean;
  /** What statvfs (df) reports as the size of each SFTP home; the server's default when unset. */
  sftpQuotaBytes?: number;
  /** The SFTP server's algorithm policy (default 'strict'). */
  sftpAlgorithmPolicy?: AlgorithmPolicy;
  log: LocalLog;
  passphrase: PassphraseSource;
  /** How often export folders are scanned, ms. */
  exportIntervalMs?: number;
  /** How often upload folders are swept for objects no event announced (renames, files copied in), ms. Default 5 s. */
  sweepIntervalMs?: number;
  /** Unprocessed uploads at least this old are queued by the sweep, ms. Default 2 s. */
  sweepOlderThanMs?: number;
  /** First retry delay of a transient failure, ms (doubles up to 30 s). Default 500. */
  retryDelayMs?: number;
  /** Concurrent SFTP sessions per user; default 10,000 (Transfer Family documents no per-user limit). */
  maxSessionsPerUser?: number;
}

export interface LocalPlatform {
  host: string;
  port: number;
  hostKeyFingerprint: string;
  bucketsDir: string;
  users: { userName: string; client: string; role: 'upload' | 'download'; home: string }[];
  generated: GeneratedLocalKey[];
  store: FsObjectStore;
  /** Resolves when every queued job is done (tests and `local export` use it). */
  idle(): Promise<void>;
  /** Runs one sweep of the upload folders now (queues what no event announced). */
  sweep(): Promise<void>;
  /**
   * Stops: no new connections or jobs; sessions and running jobs get `graceMs` (default 5 s) to finish, then are
   * ended (uploads left unfinished are discarded, jobs publish nothing half-done and are redone at the next start).
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The whole platform on one machine: the SFTP server in front of bucket folders, the same pipeline code as the
 * functions, a queue that treats transient and permanent faults as the AWS path does, a sweeper for uploads no event
 * announced, and a watcher that hands on export files once they have settled.
 *
 * Start-up order: the data-folder lock first (a second instance refuses before touching anything), then its own
 * staging leftovers, the host key check, the keys, and only then the listening server; any failure on the way undoes
 * what was started, so nothing is left listening.
 */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const lock = await lockDataDir(options.dataDir);
  const undo: (() => Promise<unknown>)[] = [() => lock.release()];
  try {
    return await startLocked(options, lock, undo);
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw error;
  }
}

async function startLocked(
  options: LocalPlatformOptions,
  lock: DataLock,
  undo: (() => Promise<unknown>)[],
): Promise<LocalPlatform> {
  const { config, env, dataDir, log } = options;
  const clients = clientsInEnvironment(config, env);
  const bucketsDir = join(dataDir, 'buckets');
  const store = new FsObjectStore(bucketsDir);
  const cleaned = await store.cleanStaging();
  if (cleaned.files > 0) log({ event: 'staging-cleaned', files: cleaned.files, bytes: cleaned.bytes });
  const swept = await store.cleanRecords();
  if (swept.removed + swept.migrated > 0) log({ event: 'records-cleaned', ...swept });
  const settings = new Map(clients.map((client) => [client.name, pipelineSettingsFor(config, env, client)]));
  for (const entry of settings.values()) {
    for (const bucket of Object.values(entry.buckets)) await mkdir(join(bucketsDir, bucket), { recursive: true });
  }
  const free = await freeBytes(bucketsDir);
  for (const entry of settings.values()) {
    if (free !== undefined && entry.maxDecompressedBytes > free)
      log({
        event: 'warning',
        client: entry.client,
        message: `maxDecompressedSize (${entry.maxDecompressedBytes} bytes) exceeds the free space of ${bucketsDir} (${free} bytes): a file that large pauses processing until space frees.`,
      });
  }
  const hostKey = await loadHostKey(join(dataDir, 'host_ed25519'));
  const keys = await prepareLocalKeys(config, env, clients, options.configDir, dataDir, options.passphrase);
  const deps: PipelineDeps = {
    store,
    keys: keys.store,
    log: (event) => log(event),
    clock: { now: () => new Date() },
    freeSpace: () => freeBytes(store.stagingDir),
  };

  const queue = new JobQueue({
    concurrency: 2,
    retryDelayMs: options.retryDelayMs ?? 500,
    deadLetterDir: join(dataDir, 'dead-letter'),
    log,
    run: async (job) => {
      const clientSettings = settings.get(job.client);
      if (!clientSettings) return;
      return job.kind === 'ingest' ? ingest(deps, clientSettings, job.key) : egress(deps, clientSettings, job.key);
    },
  });
  undo.push(() => queue.stop(0));

  // The identity core's records, as the AWS user table holds them: a rotation's retiring keys expire at its end.
  const records = new Map(
    identityRecordsFor(config, env, {
      keysOf: (client, role): IdentityKey[] => {
        const rotation = client[role]?.rotation;
        const retiring = new Set(rotation?.retiring ?? []);
        return (keys.sshKeys.get(userNameOf(client, role) ?? '') ?? []).map((key) => ({
          publicKey: key.text.split(/\s+/).slice(0, 2).join(' '),
          ...(rotation && retiring.has(key.fingerprint) ? { expiresAt: rotation.until } : {}),
        }));
      },
    }).map((record) => [record.userName, record]),
  );
  const users: SftpUser[] = [];
  const uploadUsers = new Set<string>();
  for (const client of clients) {
    const clientSettings = settings.get(client.name)!;
    const allowedCidrs = client.allowedIps.flatMap((text) => {
      const parsed = parseCidr(text);
      return parsed.ok ? [parsed.cidr] : [];
    });
    if (client.allowAnyIp) allowedCidrs.push({ network: 0, prefix: 0, text: '0.0.0.0/0' });
    for (const role of ['upload', 'download'] as const) {
      const userName = userNameOf(client, role);
      if (!userName) continue;
      if (role === 'upload') uploadUsers.add(userName);
      const home = join(
        bucketsDir,
        role === 'upload' ? clientSettings.buckets.upload : clientSettings.buckets.download,
      );
      const identity = records.get(userName);
      users.push({
        userName,
        client: client.name,
        role,
        keys: keys.sshKeys.get(userName) ?? [],
        home,
        allowedCidrs,
        ...(identity ? { identity } : {}),
      });
    }
  }
  // Transfer's events: an upload closed, and (like S3's ObjectCreated for a CopyObject) a rename into a name.
  const serverLog: LocalLog = (event) => {
    log(event);
    if (event.event === 'rename' && typeof event.user === 'string' && uploadUsers.has(event.user)) {
      const client = typeof event.client === 'string' ? event.client : undefined;
      if (client && typeof event.to === 'string') queue.push({ client, kind: 'ingest', key: event.to });
    }
  };
  const server = await startSftpServer({
    host: options.host,
    port: options.port,
    hostKey: hostKey.privateKey,
    users,
    allowLoopback: options.allowLoopback,
    stagingDir: store.stagingDir,
    maxSessionsPerUser: options.maxSessionsPerUser ?? 10_000,
    maxConnections: 10_000,
    quotaBytes: options.sftpQuotaBytes,
    algorithmPolicy: options.sftpAlgorithmPolicy,
    log: serverLog,
    onUploadCompleted: (user, key) => queue.push({ client: user.client, kind: 'ingest', key }),
    keepVersion: async (user, key, change) => {
      const bucket = settings.get(user.client)?.buckets[user.role];
      if (bucket) await store.keepVersionAcross(bucket, key, change);
      else await change();
    },
  });
  undo.push(() => server.close({ graceMs: 0 }));

  // The sweep: uploads no event announced (a previous run stopped, a file copied in, a lost event) are queued;
  // what waited for a checksum sidecar past its deadline is quarantined. The first sweep recovers the last run.
  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    sweeping ??= (async () => {
      for (const entry of settings.values()) {
        try {
          const found = await sweepUploads(deps, entry, { olderThanMs: options.sweepOlderThanMs ?? 2000 });
          for (const key of found.requeue) queue.push({ client: entry.client, kind: 'ingest', key });
          if (found.requeue.length > 0 || found.expired.length > 0)
            log({ event: 'sweep', client: entry.client, requeued: found.requeue, expired: found.expired });
        } catch (error) {
          log({ event: 'sweep-failed', client: entry.client, message: (error as Error).message });
        }
      }
    })().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  for (const entry of settings.values()) {
    const found = await sweepUploads(deps, entry, { olderThanMs: 0 }).catch(() => undefined);
    for (const key of found?.requeue ?? []) queue.push({ client: entry.client, kind: 'ingest', key });
  }
  const sweeper = setInterval(() => void sweep(), options.sweepIntervalMs ?? 5000);
  sweeper.unref();
  undo.push(async () => clearInterval(sweeper));

  const watcher = watchExports({
    store,
    buckets: [...settings.values()]
      .filter((entry) => clients.find((client) => client.name === entry.client)?.download != null)
      .map((entry) => ({
        client: entry.client,
        bucket: entry.buckets.export,
        quietMs: entry.exportQuietMs ?? DEFAULT_EXPORT_QUIET_MS,
      })),
    intervalMs: options.exportIntervalMs ?? 500,
    onFile: (client, key) => queue.push({ client, kind: 'egress', key }),
  });

  let stopping: Promise<void> | undefined;
  return {
    host: server.host,
    port: server.port,
    hostKeyFingerprint: server.hostKeyFingerprint || hostKey.fingerprint,
    bucketsDir,
    users: users.map(({ userName, client, role, home }) => ({ userName, client, role, home })),
    generated: keys.generated,
    store,
    async idle() {
      await watcher.scan();
      await queue.idle();
    },
    sweep,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        watcher.stop();
        clearInterval(sweeper);
        const deadline = Date.now() + graceMs;
        await server.close({ graceMs });
        const { left, abandoned: overdue } = await queue.stop(Math.max(0, deadline - Date.now()));
        let abandoned = overdue;
        if (abandoned > 0) {
          // Past the grace: end their reads; they fail fast, publish nothing, and are redone at the next start.
          store.abortAll();
          abandoned = (await queue.stop(1000)).abandoned;
        }
        await sweeping?.catch(() => undefined);
        await lock.release();
        log({ event: 'stopped', pendingJobs: left, stoppedJobs: overdue, stillRunning: abandoned });
      })();
      return stopping;
    },
  };
}

async function freeBytes(path: string): Promise<number | undefined> {
  const info = await statfs(path).catch(() => undefined);
  return info ? info.bavail * info.bsize : undefined;
}
