import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/aws/s3-object-store.js';
import { SecretsManagerKeyStore } from '../../src/aws/secrets-key-store.js';
import { generatePgpKeyPair } from '../../src/core/crypto/pgp-keygen.js';
import type { PipelineEvent, PipelineSettings } from '../../src/core/pipeline/types.js';
import { serializeSecret } from '../../src/core/secrets.js';
import { egressHandler } from '../../src/lambda/egress.js';
import { ingressHandler } from '../../src/lambda/ingress.js';

const S3rver = createRequire(import.meta.url)('s3rver') as new (
  options: object,
) => { run(): Promise<{ port: number }>; close(): Promise<void> };
const BUCKETS = {
  upload: 'acme-prod-bank-upload',
  raw: 'acme-prod-bank-raw',
  export: 'acme-prod-bank-export',
  download: 'acme-prod-bank-download',
};
const SETTINGS: PipelineSettings = {
  client: 'bank',
  buckets: BUCKETS,
  encryptedExtensions: ['gpg', 'pgp'],
  checksum: 'sha256',
  requireEncryption: true,
  allowEmpty: false,
  maxDecompressedBytes: 1 << 30,
};

let root: string;
let server: InstanceType<typeof S3rver>;
let s3: S3Client;
let ingressKey: Awaited<ReturnType<typeof generatePgpKeyPair>>;
let partnerKey: Awaited<ReturnType<typeof generatePgpKeyPair>>;
const secrets = mockClient(SecretsManagerClient);
const events: PipelineEvent[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sftpctl-lambda-'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: root,
    silent: true,
    configureBuckets: Object.values(BUCKETS).map((name) => ({ name })),
  });
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  ingressKey = await generatePgpKeyPair({ name: 'ingress', type: 'curve25519' });
  partnerKey = await generatePgpKeyPair({ name: 'partner', type: 'curve25519' });
  secrets.on(GetSecretValueCommand, { SecretId: 'ingress-arn' }).resolves({
    SecretString: serializeSecret({
      format: 'sftpctl.ingress-keys/v1',
      keys: [{ fingerprint: ingressKey.fingerprint, role: 'current', armoredPrivateKey: ingressKey.privateKey }],
    }),
  });
  secrets.on(GetSecretValueCommand, { SecretId: 'partner-arn' }).resolves({
    SecretString: serializeSecret({
      format: 'sftpctl.partner-key/v1',
      fingerprint: partnerKey.fingerprint,
      armoredPublicKey: partnerKey.publicKey,
    }),
  });
}, 60_000);
afterAll(async () => {
  secrets.restore();
  s3?.destroy();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

const deps = () => ({
  store: new S3ObjectStore(s3),
  keys: new SecretsManagerKeyStore(new SecretsManagerClient({ region: 'us-east-1' }), () => ({
    ingress: 'ingress-arn',
    partner: 'partner-arn',
  })),
  log: (event: PipelineEvent) => events.push(event),
  clock: { now: () => new Date() },
});
const read = async (bucket: string, key: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
const transferEvent = (key: string) =>
  JSON.stringify({
    source: 'aws.transfer',
    'detail-type': 'SFTP Server File Upload Completed',
    detail: { 'status-code': 'COMPLETED', 'file-path': `/${BUCKETS.upload}/${key}`, username: 'bank-upload' },
  });

describe('Lambda handlers over S3 (s3rver) and Secrets Manager (mocked)', () => {
  it('ingress: decrypts into raw; a bad file in the same batch is quarantined alone, not retried', async () => {
    const message = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from('id,amount\n1,10\n') }),
      encryptionKeys: await openpgp.readKey({ armoredKey: ingressKey.publicKey }),
      format: 'binary',
    });
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKETS.upload, Key: 'in/pay run+1.csv.gpg', Body: message as Uint8Array }),
    );
    await s3.send(new PutObjectCommand({ Bucket: BUCKETS.upload, Key: 'in/plain.csv', Body: 'not encrypted' }));
    const response = await ingressHandler(
      deps(),
      SETTINGS,
    )({
      Records: [
        { messageId: 'm1', body: transferEvent('in/pay run+1.csv.gpg') },
        { messageId: 'm2', body: transferEvent('in/plain.csv') },
      ],
    });
    // The plain file is a permanent failure: quarantined at once, its message consumed (a retry cannot succeed).
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await read(BUCKETS.raw, 'in/pay run+1.csv')).toString()).toBe('id,amount\n1,10\n');
    expect(JSON.parse((await read(BUCKETS.raw, '.sftpctl-quarantine/in/plain.csv.json')).toString()).reason.code).toBe(
      'NOT_ENCRYPTED',
    );
    expect(events.some((event) => event.event === 'processed' && event.key === 'in/pay run+1.csv.gpg')).toBe(true);
  });

  it('egress: an S3 notification with a URL-encoded key → encrypted file and sidecar in the download bucket', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKETS.export, Key: 'out/state ment+1.csv', Body: 'balance,42\n' }));
    const body = JSON.stringify({
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: BUCKETS.export }, object: { key: 'out/state+ment%2B1.csv' } },
        },
      ],
    });
    expect(await egressHandler(deps(), SETTINGS)({ Records: [{ messageId: 'e1', body }] })).toEqual({
      batchItemFailures: [],
    });
    const encrypted = await read(BUCKETS.download, 'out/state ment+1.csv.gpg');
    const { data } = await openpgp.decrypt({
      message: await openpgp.readMessage({ binaryMessage: encrypted }),
      decryptionKeys: await openpgp.readPrivateKey({ armoredKey: partnerKey.privateKey }),
      format: 'binary',
    });
    expect(Buffer.from(data as Uint8Array).toString()).toBe('balance,42\n');
    expect((await read(BUCKETS.download, 'out/state ment+1.csv.sha256')).toString()).toMatch(
      /^[0-9a-f]{64} {2}state ment\+1\.csv\n$/,
    );
  });

  it('messages that are not events fail alone; events for other buckets are ignored', async () => {
    const response = await ingressHandler(
      deps(),
      SETTINGS,
    )({
      Records: [
        { messageId: 'x1', body: 'garbage' },
        {
          messageId: 'x2',
          body: JSON.stringify({
            source: 'aws.transfer',
            'detail-type': 'SFTP Server File Upload Completed',
            detail: { 'status-code': 'COMPLETED', 'file-path': '/other-bucket/a.gpg' },
          }),
        },
      ],
    });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'x1' }] });
  });
});
