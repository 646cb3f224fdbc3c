import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCidr } from '../core/config/cidr.js';
import { clientsInEnvironment, userNameOf } from '../core/config/resolve.js';
import type { Config } from '../core/config/schema.js';
import { generateSshKeyPair } from '../core/crypto/ssh-keygen.js';
import { parseSshPublicKey } from '../core/crypto/ssh-public-key.js';
import { egress } from '../core/pipeline/egress.js';
import { ingest } from '../core/pipeline/ingest.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { type PipelineDeps, STATUS_TAG } from '../core/pipeline/types.js';
import { exists } from '../io/files.js';
import { writeKeyPair } from '../io/key-files.js';
import type { PassphraseSource } from '../workflows/client-secrets.js';
import { watchExports } from './export-watcher.js';
import { FsObjectStore } from './fs-object-store.js';
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
  stop(graceMs?: number): Promise<void>;
}

/**
 * The whole platform on one machine: the SFTP server in front of bucket folders, the same pipeline code as the
 * functions, a queue with retries and a dead-letter folder, and a watcher on the export folders.
 */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const { config, env, dataDir, log } = options;
  const clients = clientsInEnvironment(config, env);
  const bucketsDir = join(dataDir, 'buckets');
  const store = new FsObjectStore(bucketsDir);
  const settings = new Map(clients.map((client) => [client.name, pipelineSettingsFor(config, env, client)]));
  for (const entry of settings.values()) {
    for (const bucket of Object.values(entry.buckets)) await mkdir(join(bucketsDir, bucket), { recursive: true });
  }
  const hostKeyPath = join(dataDir, 'host_ed25519');
  if (!(await exists(hostKeyPath))) {
    await writeKeyPair(
      { privatePath: hostKeyPath, publicPath: `${hostKeyPath}.pub` },
      await generateSshKeyPair({ type: 'ed25519', comment: 'sftpctl-local-host' }),
    );
  }
  const keys = await prepareLocalKeys(config, env, clients, options.configDir, dataDir, options.passphrase);
  const deps: PipelineDeps = { store, keys: keys.store, log: (event) => log(event), clock: { now: () => new Date() } };

  const queue = new JobQueue({
    concurrency: 2,
    maxAttempts: 3,
    retryDelayMs: 500,
    deadLetterDir: join(dataDir, 'dead-letter'),
    log,
    run: async (job) => {
      const clientSettings = settings.get(job.client);
      if (!clientSettings) return;
      return job.kind === 'ingest' ? ingest(deps, clientSettings, job.key) : egress(deps, clientSettings, job.key);
    },
  });

  const users: SftpUser[] = [];
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
      const home = join(
        bucketsDir,
        role === 'upload' ? clientSettings.buckets.upload : clientSettings.buckets.download,
      );
      users.push({ userName, client: client.name, role, keys: keys.sshKeys.get(userName) ?? [], home, allowedCidrs });
    }
  }
  const hostKey = await readFile(hostKeyPath, 'utf8');
  const server = await startSftpServer({
    host: options.host,
    port: options.port,
    hostKey,
    users,
    allowLoopback: options.allowLoopback,
    quotaBytes: options.sftpQuotaBytes,
    algorithmPolicy: options.sftpAlgorithmPolicy,
    stagingDir: join(bucketsDir, '.staging'),
    log,
    onUploadCompleted: (user, key) => queue.push({ client: user.client, kind: 'ingest', key }),
  });

  // Recover what a previous run left: uploads never processed.
  for (const entry of settings.values()) {
    for await (const info of store.list(entry.buckets.upload)) {
      const tags = await store.getTags(entry.buckets.upload, info.key).catch(() => ({}) as Record<string, string>);
      if (!tags[STATUS_TAG]) queue.push({ client: entry.client, kind: 'ingest', key: info.key });
    }
  }
  const watcher = watchExports({
    store,
    buckets: [...settings.values()]
      .filter((entry) => clients.find((client) => client.name === entry.client)?.download != null)
      .map((entry) => ({ client: entry.client, bucket: entry.buckets.export })),
    intervalMs: options.exportIntervalMs ?? 500,
    onFile: (client, key) => queue.push({ client, kind: 'egress', key }),
  });

  const pubKey = parseSshPublicKey((await readFile(`${hostKeyPath}.pub`, 'utf8')).trim());
  return {
    host: server.host,
    port: server.port,
    hostKeyFingerprint: server.hostKeyFingerprint ?? (pubKey.ok ? pubKey.key.fingerprint : ''),
    bucketsDir,
    users: users.map(({ userName, client, role, home }) => ({ userName, client, role, home })),
    generated: keys.generated,
    store,
    async idle() {
      await watcher.scan();
      await queue.idle();
    },
    async stop(graceMs = 5000) {
      watcher.stop();
      await server.close({ graceMs });
      const left = await queue.stop();
      log({ event: 'stopped', pendingJobs: left });
    },
  };
}
