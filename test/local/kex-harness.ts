import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';
import { type RunningSftpServer, startSftpServer } from '../../src/local/sftp-server.js';
import { EventLog, keygen, publicKey } from '../helpers/sftp.js';

/** A local SFTP server with one upload user, and an ssh2 Client that connects offering one key exchange only. */
export interface KexHarness {
  server: RunningSftpServer;
  userKey: string;
  /** A folder with `payload.bin` in it. */
  work: string;
  payload: Buffer;
  events: EventLog;
  /** Connects offering only `kex`, uploads `payload` as `name`, reads it back and checks it; the negotiated kex. */
  roundTrip(kex: string, name: string): Promise<string>;
  /** Connects offering only `kex` and disconnects once logged in. */
  handshake(kex: string): Promise<void>;
  close(): Promise<void>;
}

export async function startKexHarness(): Promise<KexHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'sftpctl-kex-'));
  const hostKey = await readFile(await keygen(dir, 'host'), 'utf8');
  const userKey = await keygen(dir, 'user');
  const privateKey = await readFile(userKey);
  const work = join(dir, 'work');
  await mkdir(join(dir, 'home'));
  await mkdir(work);
  const payload = randomBytes(300_000);
  await writeFile(join(work, 'payload.bin'), payload);
  const events = new EventLog();
  const server = await startSftpServer({
    host: '127.0.0.1',
    port: 0,
    hostKey,
    users: [
      {
        userName: 'acme-upload',
        client: 'acme',
        role: 'upload',
        keys: [await publicKey(userKey)],
        home: join(dir, 'home'),
        allowedCidrs: [],
      },
    ],
    allowLoopback: true,
    stagingDir: join(dir, 'staging'),
    log: events.log,
    onUploadCompleted: () => undefined,
  });

  async function connect(kex: string): Promise<{ client: Client; negotiated: string }> {
    const client = new Client();
    let negotiated = '';
    client.on('handshake', (info) => {
      negotiated = info.kex;
    });
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port: server.port,
        username: 'acme-upload',
        privateKey,
        // biome-ignore lint/suspicious/noExplicitAny: names from our registry, which @types/ssh2 does not list
        algorithms: { kex: [kex] as any },
        readyTimeout: 20_000,
      });
    });
    return { client, negotiated };
  }

  return {
    server,
    userKey,
    work,
    payload,
    events,
    async roundTrip(kex, name) {
      const { client, negotiated } = await connect(kex);
      try {
        const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
          client.sftp((error, wrapper) => (error ? reject(error) : resolve(wrapper))),
        );
        await new Promise<void>((resolve, reject) =>
          sftp.writeFile(`/${name}`, payload, (error) => (error ? reject(error) : resolve())),
        );
        const back = await new Promise<Buffer>((resolve, reject) =>
          sftp.readFile(`/${name}`, (error, data) => (error ? reject(error) : resolve(data))),
        );
        if (!back.equals(payload)) throw new Error(`${name}: read back differs from what was written`);
      } finally {
        client.end();
      }
      return negotiated;
    },
    async handshake(kex) {
      const { client } = await connect(kex);
      client.end();
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
