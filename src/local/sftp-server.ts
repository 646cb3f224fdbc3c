import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, stat, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join, sep } from 'node:path';
import ssh2 from 'ssh2';
import type { Ipv4Cidr } from '../core/config/cidr.js';
import type { SshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import { decideLogin } from '../core/identity/decide.js';
import type { IdentityRecord } from '../core/identity/record.js';
import { fingerprintOf } from '../core/identity/table-plan.js';
import { permissionsFor } from '../core/permissions.js';
import { type AlgorithmPolicy, algorithmsFor } from './sftp/algorithms.js';
import {
  type AcceptedKey,
  addressAllowed,
  decidePublicKey,
  isLoopback,
  isValidUserName,
  normalizeAddress,
  type RejectReason,
} from './sftp/auth.js';
import { DEFAULT_DEFENDER, Defender } from './sftp/defender.js';
import { Home } from './sftp/paths.js';
import { CLIENT_ENDED, SftpSession } from './sftp/session.js';
import { refuseSession } from './sftp/wire.js';

/**
 * The embedded SFTP server of `sftpctl local up`: it stands in for AWS Transfer Family, with folders for buckets.
 * Publickey logins only, an IP allow-list per client, a brute-force defender, each user confined to its home folder
 * with the permissions of its role (`permissionsFor`, the model the IAM roles are rendered from), and uploads that
 * appear in the home only once complete. See docs/local-sftp.md.
 */

export interface SftpUser {
  userName: string;
  client: string;
  role: 'upload' | 'download';
  keys: SshPublicKey[];
  /** Absolute folder: the user's bucket; the user sees it as "/". */
  home: string;
  allowedCidrs: Ipv4Cidr[];
  /**
   * The identity core's record of this user (core/identity): when given, every login is decided by `decideLogin`, as
   * the AWS identity function decides it (source address, disabled, key expiry); `keys` are then the candidates and
   * the record says which of them are valid now.
   */
  identity?: IdentityRecord;
}

export interface SftpServerOptions {
  host: string;
  port: number;
  /** OpenSSH (or PEM) private key text. */
  hostKey: string;
  users: SftpUser[];
  /** Loopback source addresses bypass the allow-list, and the defender never bans them (one switch for both). */
  allowLoopback: boolean;
  /** The software part of the SSH identification string (`SSH-2.0-<ident>`). Default "SFTP": no product, no version. */
  ident?: string;
  /** 'strict' (default): what ssh-audit passes; 'compatible' adds the non-ETM hmac-sha2 MACs for libssh2 < 1.11. */
  algorithmPolicy?: AlgorithmPolicy;
  /**
   * The size each home reports through statvfs (`df` in sftp, rclone `about`): total = quota, free = quota minus what
   * the home holds (never more than the disk has). Default 1 TiB. Not enforced on writes.
   */
  quotaBytes?: number;
  /** Uploads are written here (same file system as the homes) and renamed into the home on a clean close. */
  stagingDir: string;
  /** An authenticated connection with no SFTP request for this long is closed. Default 30 minutes. */
  idleTimeoutMs?: number;
  /** Concurrent SFTP sessions per user. Default 20. */
  maxSessionsPerUser?: number;
  /** Concurrent TCP connections. Default 256. */
  maxConnections?: number;
  /** A connection that has not logged in after this long is closed. Default 60 s. */
  loginTimeoutMs?: number;
  defender?: { maxFailures: number; windowMs: number; banMs: number };
  log: (event: { event: string; [key: string]: unknown }) => void;
  onUploadCompleted: (user: SftpUser, key: string) => void | Promise<void>;
  /** Keeps a published file's version across a change of its times (the platform's object store). */
  keepVersion?: (user: SftpUser, key: string, change: () => Promise<void>) => Promise<void>;
}

export interface RunningSftpServer {
  host: string;
  port: number;
  hostKeyFingerprint: string;
  /** Stops accepting, lets sessions finish for up to `graceMs` (default 0), then ends them (open uploads discarded). */
  close(options?: { graceMs?: number }): Promise<void>;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_MAX_SESSIONS_PER_USER = 20;
const DEFAULT_MAX_CONNECTIONS = 256;
const DEFAULT_LOGIN_TIMEOUT_MS = 60_000;
/** Rejected authentication requests (probes included) one connection may make, as OpenSSH's MaxAuthTries. */
const MAX_AUTH_TRIES = 6;
/** Generic, like Transfer Family's "AWS_SFTP_1.1" minus the vendor: scanners learn nothing from it. */
export const DEFAULT_IDENT = 'SFTP';
export const DEFAULT_QUOTA_BYTES = 2 ** 40;

interface UserEntry {
  user: SftpUser;
  keys: AcceptedKey[];
  home: Home;
}

interface Connection {
  ip: string;
  socket: Socket;
  client: ssh2.Connection | undefined;
  startedAt: number;
  lastActivity: number;
  user: UserEntry | undefined;
  rejections: number;
  lastRejection: RejectReason | 'method-not-allowed' | undefined;
  triedUser: string | undefined;
  failureRecorded: boolean;
  cipher: string | undefined;
  /** Its SFTP sessions, each with the function that ends it and does the bookkeeping (idempotent). */
  sessions: Map<SftpSession, (reason: string) => Promise<void>>;
  /** Being disconnected: the sweep leaves it alone. */
  ending: boolean;
  closed: Promise<void>;
}

export async function startSftpServer(options: SftpServerOptions): Promise<RunningSftpServer> {
  const log = options.log;
  const hostKey = parseHostKey(options.hostKey);
  const stagingDir = await prepareStaging(options.stagingDir);
  const users = await prepareUsers(options.users, stagingDir);
  await cleanStaging(stagingDir, log);

  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const loginTimeoutMs = options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
  const maxSessionsPerUser = options.maxSessionsPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const defender = new Defender(options.defender ?? DEFAULT_DEFENDER);
  const allCidrs = [...users.values()].flatMap((entry) => entry.user.allowedCidrs);

  const connections = new Set<Connection>();
  const byRemote = new Map<string, Connection>();
  const sessionsPerUser = new Map<string, number>();
  const hooks = new Set<Promise<void>>();
  let closing = false;

  const sshServer = new ssh2.Server({
    hostKeys: [options.hostKey],
    algorithms: algorithmsFor(options.algorithmPolicy),
    ident: options.ident ?? DEFAULT_IDENT,
  });
  sshServer.on('connection', (client: ssh2.Connection, info: ssh2.ClientInfo) => {
    const connection = byRemote.get(`${info.ip}|${info.port}`);
    if (!connection || closing) {
      client.end();
      return;
    }
    connection.client = client;
    client.on('error', (error: Error & { level?: string }) => {
      const event = connection.user ? 'connection-error' : 'handshake-failed';
      log({ event, ip: connection.ip, user: connection.user?.user.userName, message: error.message });
    });
    client.on('handshake', (negotiated) => {
      connection.cipher = negotiated.cs.cipher;
    });
    client.on('authentication', (context) => authenticate(connection, context));
    client.on('ready', () => onReady(connection, client));
  });

  const netServer = createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    const ip = normalizeAddress(socket.remoteAddress);
    // Refused before the SSH version exchange: there is no protocol yet to carry a reason in (OpenSSH's client does
    // not show lines sent before the version string), so the reason goes to the log.
    const refuse = (reason: string, extra: Record<string, unknown> = {}) => {
      log({ event: 'connection-refused', ip, reason, ...extra });
      socket.destroy();
    };
    if (closing) return refuse('server-closing');
    if (connections.size >= maxConnections) return refuse('max-connections', { maxConnections });
    const bannedUntil = defender.bannedUntil(ip);
    if (bannedUntil !== undefined) return refuse('banned', { until: new Date(bannedUntil).toISOString() });
    if (!addressAllowed(ip, allCidrs, options.allowLoopback)) return refuse('ip-not-allowed');

    let markClosed!: () => void;
    const connection: Connection = {
      ip,
      socket,
      client: undefined,
      startedAt: Date.now(),
      lastActivity: Date.now(),
      user: undefined,
      rejections: 0,
      lastRejection: undefined,
      triedUser: undefined,
      failureRecorded: false,
      cipher: undefined,
      sessions: new Map(),
      ending: false,
      closed: new Promise<void>((resolve) => {
        markClosed = resolve;
      }),
    };
    const remoteKey = `${socket.remoteAddress}|${socket.remotePort}`;
    connections.add(connection);
    byRemote.set(remoteKey, connection);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      byRemote.delete(remoteKey);
      if (!connection.user && connection.rejections > 0) recordFailedLogin(connection);
      void endSessions(connection, 'connection closed').then(() => {
        connections.delete(connection);
        markClosed();
      });
    });
    sshServer.injectSocket(socket);
  });

  function authenticate(connection: Connection, context: ssh2.AuthContext): void {
    connection.lastActivity = Date.now();
    if (context.method === 'none' || closing) {
      context.reject(['publickey']);
      return;
    }
    if (context.method !== 'publickey') {
      rejectAttempt(connection, context, 'method-not-allowed');
      return;
    }
    const name = context.username;
    const validName = isValidUserName(name);
    const entry = validName ? users.get(name) : undefined;
    const identity = entry?.user.identity;
    if (!identity) {
      const ipAllowed =
        entry !== undefined && addressAllowed(connection.ip, entry.user.allowedCidrs, options.allowLoopback);
      finishAuthentication(connection, context, entry, { validName, ipAllowed });
      return;
    }
    // The identity core decides who, from where, with which keys now (expired keys out): the AWS function's rule.
    void decideLogin(
      identity,
      { userName: name, sourceIp: connection.ip, protocol: 'SFTP' },
      { now: new Date(), allowLoopback: options.allowLoopback },
    ).then(
      (login) => {
        const valid = new Set(login.allowed ? login.keys.map((key) => fingerprintOf(key.publicKey)) : []);
        const candidate = entry && { keys: entry.keys.filter((key) => valid.has(key.fingerprint)) };
        finishAuthentication(connection, context, candidate && { ...entry, ...candidate }, {
          validName,
          ipAllowed: login.allowed || login.reason !== 'ip-not-allowed',
          ...(!login.allowed && login.reason === 'disabled' ? { refusal: 'disabled' as const } : {}),
        });
      },
      () => rejectAttempt(connection, context, 'key-not-accepted'),
    );
  }

  function finishAuthentication(
    connection: Connection,
    context: ssh2.PublicKeyAuthContext,
    entry: UserEntry | undefined,
    checks: { validName: boolean; ipAllowed: boolean; refusal?: 'disabled' },
  ): void {
    const name = context.username;
    const decision = decidePublicKey(
      {
        algo: context.key.algo,
        data: context.key.data,
        hashAlgo: context.hashAlgo,
        signature: context.signature,
        blob: context.blob,
      },
      entry,
      checks,
    );
    if (decision.outcome === 'reject') {
      connection.triedUser = name.slice(0, 100);
      rejectAttempt(
        connection,
        context,
        checks.refusal && decision.reason === 'key-not-accepted' ? checks.refusal : decision.reason,
      );
      return;
    }
    if (decision.outcome === 'login' && entry) {
      connection.user = entry;
      log({
        event: 'auth-ok',
        ip: connection.ip,
        user: entry.user.userName,
        client: entry.user.client,
        role: entry.user.role,
        key: decision.key.fingerprint,
        algorithm: context.hashAlgo ? `${context.key.algo}/${context.hashAlgo}` : context.key.algo,
        cipher: connection.cipher,
      });
    }
    // A probe answered "key acceptable" logs nobody in: the client must come back with a signature.
    context.accept();
  }

  function rejectAttempt(
    connection: Connection,
    context: ssh2.AuthContext,
    reason: RejectReason | 'method-not-allowed',
  ): void {
    connection.rejections++;
    connection.lastRejection = reason;
    if (connection.rejections >= MAX_AUTH_TRIES) {
      recordFailedLogin(connection);
      connection.client?.end();
      return;
    }
    context.reject(['publickey']);
  }

  /** One failed login per connection that tried and never got in. */
  function recordFailedLogin(connection: Connection): void {
    if (connection.failureRecorded) return;
    connection.failureRecorded = true;
    // Loopback is trusted by the same switch as the allow-lists: counted nowhere, never banned.
    const result =
      options.allowLoopback && isLoopback(connection.ip)
        ? { failures: 0, bannedUntil: undefined }
        : defender.recordFailure(connection.ip);
    log({
      event: 'auth-failed',
      ip: connection.ip,
      user: connection.triedUser,
      reason: connection.lastRejection,
      attempts: connection.rejections,
      failures: result.failures,
    });
    if (result.bannedUntil !== undefined) {
      log({
        event: 'ip-banned',
        ip: connection.ip,
        failures: result.failures,
        until: new Date(result.bannedUntil).toISOString(),
      });
      for (const other of connections) {
        if (other !== connection && other.ip === connection.ip && !other.user) endConnection(other);
      }
    }
  }

  function onReady(connection: Connection, client: ssh2.Connection): void {
    const entry = connection.user;
    if (!entry) {
      client.end();
      return;
    }
    const { user } = entry;
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('sftp', (acceptSftp) => {
        const active = sessionsPerUser.get(user.userName) ?? 0;
        if (closing || active >= maxSessionsPerUser) {
          log({
            event: 'session-refused',
            ip: connection.ip,
            user: user.userName,
            reason: closing ? 'server-closing' : 'max-sessions',
            maxSessionsPerUser,
          });
          const reason = closing
            ? 'The server is shutting down; try again in a moment.'
            : `Too many sessions for ${user.userName} (${maxSessionsPerUser} at once); close one or try again in a moment.`;
          refuseSession(acceptSftp(), reason);
          return;
        }
        sessionsPerUser.set(user.userName, active + 1);
        const sftp = acceptSftp();
        const sftpSession = new SftpSession(sftp, {
          user,
          ip: connection.ip,
          home: entry.home,
          stagingDir,
          permissions: permissionsFor(user.role),
          quotaBytes: options.quotaBytes ?? DEFAULT_QUOTA_BYTES,
          log,
          uploadCompleted: (key) => runHook(user, key),
          ...(options.keepVersion
            ? { keepVersion: (key: string, change: () => Promise<void>) => options.keepVersion!(user, key, change) }
            : {}),
          touch: () => {
            connection.lastActivity = Date.now();
          },
        });
        log({ event: 'session-opened', ip: connection.ip, user: user.userName, client: user.client });
        let finished: Promise<void> | undefined;
        const finish = (reason: string): Promise<void> => {
          finished ??= sftpSession
            .end(reason)
            .catch((error: unknown) => {
              // A session's end must always be counted, or its slot would stay taken; the fault is logged.
              log({
                event: 'session-end-failed',
                ip: connection.ip,
                user: user.userName,
                message: error instanceof Error ? error.message : String(error),
              });
            })
            .then(() => {
              connection.sessions.delete(sftpSession);
              sessionsPerUser.set(user.userName, (sessionsPerUser.get(user.userName) ?? 1) - 1);
              log({
                event: 'session-closed',
                ip: connection.ip,
                user: user.userName,
                client: user.client,
                reason,
                uploads: sftpSession.uploads,
                downloads: sftpSession.downloads,
                ms: Date.now() - sftpSession.startedAt,
              });
            });
          return finished;
        };
        connection.sessions.set(sftpSession, finish);
        sftp.on('end', () => void finish(CLIENT_ENDED));
        sftp.on('close', () => void finish('channel closed'));
        sftp.on('error', (error: Error) => {
          log({ event: 'sftp-error', ip: connection.ip, user: user.userName, message: error.message });
          void finish('protocol error');
        });
      });
    });
  }

  function runHook(user: SftpUser, key: string): void {
    const hook = Promise.resolve()
      .then(() => options.onUploadCompleted(user, key))
      .catch((error: unknown) => {
        log({
          event: 'upload-hook-failed',
          user: user.userName,
          client: user.client,
          key,
          message: error instanceof Error ? error.message : String(error),
        });
      });
    hooks.add(hook);
    void hook.finally(() => hooks.delete(hook));
  }

  async function endSessions(connection: Connection, reason: string): Promise<void> {
    await Promise.allSettled([...connection.sessions.values()].map((finish) => finish(reason)));
  }

  function endConnection(connection: Connection): void {
    connection.ending = true;
    if (connection.client) connection.client.end();
    else connection.socket.destroy();
    // A peer that never answers the disconnect does not hold the server.
    setTimeout(() => connection.socket.destroy(), 2000).unref();
  }

  const sweep = setInterval(
    () => {
      const now = Date.now();
      defender.prune();
      for (const connection of connections) {
        if (connection.ending) continue;
        if (!connection.user && now - connection.startedAt > loginTimeoutMs) {
          log({ event: 'login-timeout', ip: connection.ip });
          if (connection.rejections > 0) recordFailedLogin(connection);
          endConnection(connection);
        } else if (connection.user && now - connection.lastActivity > idleTimeoutMs) {
          log({ event: 'idle-timeout', ip: connection.ip, user: connection.user.user.userName, idleTimeoutMs });
          connection.ending = true;
          void endSessions(connection, 'idle timeout').then(() => endConnection(connection));
        }
      }
    },
    Math.max(50, Math.min(5000, Math.floor(Math.min(idleTimeoutMs, loginTimeoutMs) / 4))),
  );
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    netServer.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new SftpctlError(
          'SFTP_LISTEN_FAILED',
          `The local SFTP server cannot listen on ${options.host}:${options.port} (${error.code ?? error.message}).`,
          error.code === 'EADDRINUSE'
            ? 'Another program uses that port: stop it, or choose another port.'
            : 'Check the host address and port.',
          { cause: error },
        ),
      );
    });
    netServer.listen(options.port, options.host, () => resolve());
  });
  netServer.on('error', (error) => log({ event: 'server-error', message: error.message }));
  const address = netServer.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log({
    event: 'server-started',
    host: options.host,
    port,
    hostKeyFingerprint: hostKey.fingerprint,
    users: users.size,
  });

  let closePromise: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    hostKeyFingerprint: hostKey.fingerprint,
    close(closeOptions = {}) {
      closePromise ??= (async () => {
        closing = true;
        clearInterval(sweep);
        const stopped = new Promise<void>((resolve) => netServer.close(() => resolve()));
        const graceMs = closeOptions.graceMs ?? 0;
        if (graceMs > 0 && connections.size > 0) {
          const allClosed = Promise.all([...connections].map((connection) => connection.closed));
          await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
        }
        const remaining = [...connections];
        await Promise.allSettled(remaining.map((connection) => endSessions(connection, 'server closing')));
        for (const connection of remaining) endConnection(connection);
        await Promise.all(remaining.map((connection) => connection.closed));
        await stopped;
        while (hooks.size > 0) await Promise.allSettled([...hooks]);
        log({ event: 'server-stopped', host: options.host, port });
      })();
      return closePromise;
    },
  };
}

function parseHostKey(text: string): { key: ssh2.ParsedKey; fingerprint: string } {
  let parsed = ssh2.utils.parseKey(text);
  if (Array.isArray(parsed)) parsed = parsed[0] as ssh2.ParsedKey;
  if (parsed instanceof Error || !parsed || parsed.getPrivatePEM() === null) {
    throw new SftpctlError(
      'SFTP_HOST_KEY_INVALID',
      'The SFTP host key is not an unencrypted SSH private key.',
      'Generate one with `ssh-keygen -t ed25519 -N "" -f host_key` and pass the content of host_key.',
    );
  }
  if (parsed.type === 'ssh-rsa' || parsed.type === 'ssh-dss') {
    // ssh2 offers `ssh-rsa` (SHA-1 signatures) for every RSA host key, whatever `algorithms` says.
    throw new SftpctlError(
      'SFTP_HOST_KEY_UNSUPPORTED',
      `The local SFTP server does not use ${parsed.type === 'ssh-rsa' ? 'RSA' : 'DSA'} host keys: its SSH library would offer SHA-1 (ssh-rsa) host signatures with them.`,
      'Use an ed25519 (or ECDSA) host key: `ssh-keygen -t ed25519 -N "" -f host_key`.',
    );
  }
  const fingerprint = `SHA256:${createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
  return { key: parsed, fingerprint };
}

async function prepareStaging(folder: string): Promise<string> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  return realpath(folder);
}

async function prepareUsers(list: readonly SftpUser[], stagingDir: string): Promise<Map<string, UserEntry>> {
  const users = new Map<string, UserEntry>();
  const stagingDevice = (await stat(stagingDir)).dev;
  for (const user of list) {
    if (!isValidUserName(user.userName)) {
      throw new SftpctlError(
        'SFTP_USER_INVALID',
        `SFTP user name "${user.userName}" is not valid.`,
        'User names are 3 to 100 characters of letters, digits, _ @ . - (not starting with @ . -), and not "root".',
      );
    }
    if (users.has(user.userName)) {
      throw new SftpctlError('SFTP_USER_INVALID', `SFTP user "${user.userName}" is defined twice.`);
    }
    await mkdir(user.home, { recursive: true });
    const home = await Home.open(user.home);
    if (inside(stagingDir, home.root) || inside(home.root, stagingDir)) {
      throw new SftpctlError(
        'SFTP_STAGING_INVALID',
        `The SFTP staging folder and the home of "${user.userName}" overlap.`,
        'Put the staging folder beside the bucket folders, not inside one (nor one inside it).',
      );
    }
    if ((await stat(home.root)).dev !== stagingDevice) {
      throw new SftpctlError(
        'SFTP_STAGING_INVALID',
        `The SFTP staging folder is not on the same file system as the home of "${user.userName}".`,
        'Uploads are published with an atomic rename: put the staging folder on the file system of the bucket folders.',
      );
    }
    users.set(user.userName, {
      user,
      home,
      keys: user.keys.map((key) => ({ type: key.type, blob: Buffer.from(key.blob), fingerprint: key.fingerprint })),
    });
  }
  return users;
}

/** Upload files left by a server that died: never published, never going to be. */
async function cleanStaging(stagingDir: string, log: SftpServerOptions['log']): Promise<void> {
  let removed = 0;
  for (const name of await readdir(stagingDir)) {
    if (!name.endsWith('.upload')) continue;
    const path = join(stagingDir, name);
    if ((await lstat(path).catch(() => undefined))?.isFile()) {
      await unlink(path).catch(() => undefined);
      removed++;
    }
  }
  if (removed > 0) log({ event: 'staging-cleaned', removed });
}

function inside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : `${parent}${sep}`);
}
