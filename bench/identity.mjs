// Login latency of the identity function: the REAL bundle (dist/lambda/identity.zip, unzipped) in a warm container
// (a child process, as test/lambda runs it), answering Transfer auth events from a DynamoDB-compatible endpoint and
// a Secrets Manager fake over their wire protocols on loopback. Measured per login: cold start (process start,
// bundle import, first answer), warm with the record cached, warm with a table read on every login (cache off), and
// FTPS (table read + secret read + scrypt). Peers in the same run: a malformed event the function refuses before any
// I/O (the container/IPC floor), one bare SDK GetItem from this process against the same endpoint (the store floor),
// and one scrypt derivation with the same parameters (the KDF floor).
//
//   node bench/identity.mjs                 1,000 users in the table, 300 logins per case
//   node bench/identity.mjs --users=5000 --logins=1000
//
// Results: bench/results/identity.json. Loopback has no network latency: in AWS add a DynamoDB GetItem (single-digit
// ms in-region) to the uncached figures. Never asserted: figures for the report.
import { execFileSync, fork } from 'node:child_process';
import { randomUUID, scryptSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importTypeScript, median, parseArgs, ROOT, table, writeResult } from './lib.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const args = parseArgs();
const USERS = Number(args.users ?? 1000);
const LOGINS = Number(args.logins ?? 300);
const TABLE = 'acme-dev-identity';
const PREFIX = '/acme/dev/identity/passwords/';

if (!existsSync(join(ROOT, 'dist/lambda/identity.zip')))
  execFileSync(process.execPath, ['scripts/build-lambda.mjs', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
const { startFakeDynamoDb, startFakeSecretsManager, recordToItem, hashPassword } = await importTypeScript('identity', {
  'test/helpers/fake-dynamodb.ts': ['startFakeDynamoDb'],
  'test/helpers/fake-secrets-manager.ts': ['startFakeSecretsManager'],
  'src/aws/identity-store.ts': ['recordToItem'],
  'src/core/identity/password.ts': ['hashPassword'],
});

const dynamo = await startFakeDynamoDb({ table: TABLE });
const secrets = await startFakeSecretsManager(() => [
  { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' }] },
]);
const work = mkdtempSync(join(tmpdir(), 'sftpctl-bench-identity-'));
const containers = [];
try {
  for (let index = 0; index < USERS; index++) {
    const userName = `partner${String(index).padStart(5, '0')}-upload`;
    dynamo.items.set(
      userName,
      recordToItem({
        userName,
        client: `partner${index}`,
        role: 'upload',
        enabled: true,
        roleArn: `arn:aws:iam::111122223333:role/acme-dev-partner${index}-UploadUserRole`,
        homeDirectoryMappings: [{ entry: '/', target: `/acme-dev-partner${index}-upload` }],
        sshKeys: [{ publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl' }],
        allowedCidrs: [`10.${index >> 8}.${index & 255}.0/24`, '203.0.113.0/24'],
        allowAnyIp: false,
        passwordSecret: `${PREFIX}${userName}`,
      }),
    );
  }
  const password = 'correct horse battery staple';
  secrets.secrets.set(`${PREFIX}partner00001-upload`, JSON.stringify({ hash: await hashPassword(password) }));
  execFileSync('unzip', ['-q', '-o', join(ROOT, 'dist/lambda/identity.zip'), '-d', work]);

  const env = (cacheMs) => ({
    PATH: process.env.PATH ?? '',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SFTPCTL_IDENTITY_TABLE: TABLE,
    SFTPCTL_PASSWORD_SECRET_PREFIX: PREFIX,
    SFTPCTL_IDENTITY_CACHE_MS: String(cacheMs),
    AWS_REGION: 'eu-west-2',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake',
    AWS_SESSION_TOKEN: 'identity-function',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  });
  const start = async (cacheMs) => {
    const started = performance.now();
    const child = fork(join(ROOT, 'test/lambda/harness/runner.mjs'), [work, 'identity.mjs', 'handler'], {
      env: env(cacheMs),
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    containers.push(child);
    await new Promise((resolve) => child.once('message', resolve));
    const pending = new Map();
    child.on('message', (message) => pending.get(message.id)?.(message));
    const invoke = (event) =>
      new Promise((resolve) => {
        const id = randomUUID();
        pending.set(id, (message) => {
          pending.delete(id);
          resolve(message.response);
        });
        child.send({ id, event });
      });
    return { started, invoke };
  };
  const sftp = (user) => ({ username: user, password: '', protocol: 'SFTP', serverId: 's-1', sourceIp: '203.0.113.9' });
  const time = async (runs, action) => {
    const samples = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      await action(run);
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    return { median: median(samples), p99: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))] };
  };

  const cached = await start(30_000);
  const first = await cached.invoke(sftp('partner00000-upload'));
  const cold = performance.now() - cached.started;
  if (!first.Role) throw new Error(`first login refused: ${JSON.stringify(first)}`);
  const uncached = await start(0);
  await uncached.invoke(sftp('partner00000-upload'));

  const user = (run) => `partner${String(run % USERS).padStart(5, '0')}-upload`;
  for (let run = 0; run < Math.min(USERS, LOGINS); run++) await cached.invoke(sftp(user(run)));
  const results = {
    'SFTP, record cached': await time(LOGINS, (run) => cached.invoke(sftp(user(run)))),
    'SFTP, table read each login': await time(LOGINS, (run) => uncached.invoke(sftp(user(run)))),
    'FTPS, table + secret + scrypt': await time(Math.min(LOGINS, 60), () =>
      uncached.invoke({ ...sftp('partner00001-upload'), protocol: 'FTPS', password }),
    ),
    'FTPS, unknown user (decoy)': await time(Math.min(LOGINS, 60), () =>
      uncached.invoke({ ...sftp('ghost'), protocol: 'FTPS', password }),
    ),
    'peer: malformed event (IPC floor)': await time(LOGINS, () => uncached.invoke({})),
  };
  const { DynamoDBClient, GetItemCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    region: 'eu-west-2',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake' },
  });
  await client.send(new GetItemCommand({ TableName: TABLE, Key: { userName: { S: user(0) } } }));
  results['peer: bare SDK GetItem'] = await time(LOGINS, (run) =>
    client.send(new GetItemCommand({ TableName: TABLE, Key: { userName: { S: user(run) } }, ConsistentRead: true })),
  );
  results['peer: one scrypt (N=2^15, r=8)'] = await time(20, () =>
    scryptSync(password, Buffer.alloc(16), 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }),
  );
  client.destroy();

  const rows = [
    ['cold start (process + import + first login)', cold.toFixed(1), '—'],
    ...Object.entries(results).map(([name, { median: ms, p99 }]) => [name, ms.toFixed(2), p99.toFixed(2)]),
  ];
  console.log(`identity function, ${USERS} users in the table, ${LOGINS} logins per case (loopback endpoints)\n`);
  console.log(table(['case', 'median ms', 'p99 ms'], rows));
  const path = writeResult('identity', { users: USERS, logins: LOGINS, coldMs: cold, results });
  console.log(`\nwritten to ${path}`);
} finally {
  for (const child of containers) child.kill();
  await dynamo.stop();
  await secrets.stop();
  rmSync(work, { recursive: true, force: true });
}
