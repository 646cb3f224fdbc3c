import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { validateConfigText } from '../../../src/core/config/validate.js';
import { synthesize } from '../../../src/templates/synthesize.js';
import { startFakeSecretsManager } from '../../helpers/fake-secrets-manager.js';
import { startFakeSqs } from '../../helpers/fake-sqs.js';
import type { PolicyDocument } from '../../helpers/iam-policy.js';
import { enforcePolicies, type S3Check } from '../../helpers/s3-authorizer.js';
import { startS3rver } from '../../helpers/s3rver.js';
import { ACCOUNT, REGION, resolver } from './resolve.js';
import { unzip } from './unzip.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const SERVER_ID = 's-0123456789abcdef0';

export const HARNESS_CONFIG = `project: acme
defaults:
  region: ${REGION}
  vpc:
    cidr: 10.42.0.0/24
environments:
  dev: {}
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    checksum: sha256
    upload:
      sshKeys: []
    download:
      sshKeys: []
`;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
export type BucketName = 'upload' | 'raw' | 'export' | 'download';

export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, unknown>;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

export interface Invocation {
  response?: { batchItemFailures: { itemIdentifier: string }[] };
  error?: string;
  logs: Record<string, unknown>[];
}

/** One warm container of a real bundle (a child process), as Lambda keeps one between invocations. */
class Container {
  private readonly pending = new Map<string, (message: Invocation) => void>();
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: string } & Invocation) => {
      if (message.id) this.pending.get(message.id)?.(message);
    });
  }

  static async start(dir: string, handler: string, env: Record<string, string>): Promise<Container> {
    const [file, exportName] = handler.split('.');
    const child = fork(join(ROOT, 'test/lambda/harness/runner.mjs'), [dir, `${file}.mjs`, exportName!], {
      env: { PATH: process.env.PATH ?? '', ...env },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`${handler} container exited (${code}): ${stderr}`)));
    });
    return new Container(child);
  }

  invoke(event: unknown): Promise<Invocation> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`container exited (${code}) during an invocation`));
      this.child.once('exit', onExit);
      this.pending.set(id, (message) => {
        this.child.off('exit', onExit);
        this.pending.delete(id);
        const logs = (message.logs as unknown as string[]).flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [{ text: line }];
          }
        });
        resolve({ ...message, logs });
      });
      this.child.send({ id, event });
    });
  }

  stop(): void {
    this.child.kill();
  }
}

/**
 * The AWS side of one client, run locally: the rendered client stack's buckets in s3rver with the stack's role
 * policies enforced on every S3 call, its secrets in a fake Secrets Manager, and its functions as the real built
 * bundles (dist/lambda/*.zip, unzipped) with the template's own environment, each in a warm container.
 */
export async function startPlatform(
  options: { configText?: string; environment?: Record<string, Record<string, string>> } = {},
) {
  if (!existsSync(join(ROOT, 'dist/lambda/manifest.json'))) {
    execFileSync(process.execPath, ['scripts/build-lambda.mjs', '--quiet'], { cwd: ROOT, stdio: 'ignore' });
  }
  const { config, errors } = await validateConfigText(options.configText ?? HARNESS_CONFIG, 'sftpctl.yaml');
  if (!config) throw new Error(`harness config invalid: ${JSON.stringify(errors)}`);
  const stack = synthesize(config, 'dev', { format: 'json' }).stacks.find((entry) => entry.kind === 'client')!;
  const template = stack.template as unknown as { Resources: Resources };
  const endpoints: { sqs?: string } = {};
  const { resolve, ref } = resolver(
    template,
    {
      ServerId: SERVER_ID,
      AccessLogBucketName: 'acme-dev-access-logs',
      CodeBucket: 'acme-dev-assets',
      AlarmTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:acme-dev-alarms`,
      IngressCodeKey: 'functions/ingress.zip',
      EgressCodeKey: 'functions/egress.zip',
    },
    endpoints,
  );
  const resources = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

  /** Role logical id → its inline policies, resolved. Mutable: a test may take a permission away. */
  const policies = new Map<string, PolicyDocument[]>();
  for (const [id, role] of ofType('AWS::IAM::Role')) {
    const documents = ((role.Properties?.Policies ?? []) as { PolicyDocument: unknown }[]).map(
      (policy) => resolve(policy.PolicyDocument) as PolicyDocument,
    );
    policies.set(id, documents);
  }

  const buckets = {} as Record<BucketName, string>;
  for (const [id, bucket] of ofType('AWS::S3::Bucket')) {
    const purpose = id.replace(/Bucket$/, '').toLowerCase() as BucketName;
    buckets[purpose] = String(bucket.Properties?.BucketName);
  }

  const checks: S3Check[] = [];
  const s3rver = await startS3rver(Object.values(buckets), {
    extend: (server) =>
      enforcePolicies(
        server,
        (principal) => policies.get(principal),
        (check) => checks.push(check),
      ),
  });
  const secretsManager = await startFakeSecretsManager((principal) => policies.get(principal));
  for (const [id] of ofType('AWS::SecretsManager::Secret')) secretsManager.secrets.set(ref(id), undefined);
  const sqs = await startFakeSqs((principal) => policies.get(principal), REGION);
  endpoints.sqs = sqs.endpoint;

  const work = await mkdtemp(join(tmpdir(), 'sftpctl-harness-'));
  const manifest = JSON.parse(await readFile(join(ROOT, 'dist/lambda/manifest.json'), 'utf8')) as Record<
    string,
    { file: string; handler: string }
  >;
  const containers = new Map<string, Container>();
  const starts = new Map<string, () => Promise<Container>>();
  const queueArn = (fn: string) =>
    resolve({ 'Fn::GetAtt': [fn.replace(/Function$/, 'Queue'), 'Arn'] }) as unknown as string;
  for (const [id, fn] of ofType('AWS::Lambda::Function')) {
    const props = fn.Properties as {
      Handler: string;
      Role: unknown;
      Environment?: { Variables: Record<string, unknown> };
    };
    const bundle = props.Handler.split('.')[0]!;
    if (!manifest[bundle]) throw new Error(`no bundle for ${props.Handler} in dist/lambda/manifest.json`);
    const dir = join(work, id);
    await unzip(join(ROOT, manifest[bundle].file), dir);
    const role = (props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const variables = resolve(props.Environment?.Variables ?? {}) as Record<string, string>;
    const start = () =>
      Container.start(dir, props.Handler, {
        ...variables,
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        // The role's session, as Lambda hands it over: the authorizer reads the principal from it.
        AWS_SESSION_TOKEN: role,
        AWS_ENDPOINT_URL_S3: s3rver.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
        ...options.environment?.[id],
        AWS_LAMBDA_FUNCTION_NAME: id,
        TZ: 'UTC',
      });
    starts.set(id, start);
    containers.set(id, await start());
  }

  const admin = new S3Client({ region: REGION, ...s3rver.s3Overrides });
  let sequence = 0;

  const platform = {
    template,
    buckets,
    policies,
    checks,
    secrets: secretsManager,
    /** The secret ARN a template resource resolves to. */
    secretArn: (logicalId: string) => ref(logicalId),

    /** A partner (or the back office) writes an object, outside every function role. */
    async put(bucket: BucketName, key: string, body: string | Uint8Array): Promise<string> {
      const result = await admin.send(new PutObjectCommand({ Bucket: buckets[bucket], Key: key, Body: body }));
      return result.ETag ?? '';
    },

    /** An object's bytes, read as the account's administrator. */
    async get(bucket: BucketName, key: string): Promise<Buffer> {
      const got = await admin.send(new GetObjectCommand({ Bucket: buckets[bucket], Key: key }));
      return Buffer.from(await got.Body!.transformToByteArray());
    },

    /** Transfer Family's "SFTP Server File Upload Completed" event, as EventBridge puts it on the ingress queue. */
    async uploadCompleted(key: string, user = 'bank-upload'): Promise<string> {
      const head = await admin.send(new HeadObjectCommand({ Bucket: buckets.upload, Key: key }));
      return JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': 'SFTP Server File Upload Completed',
        source: 'aws.transfer',
        account: ACCOUNT,
        time: '2026-12-04T12:00:00Z',
        region: REGION,
        resources: [`arn:aws:transfer:${REGION}:${ACCOUNT}:server/${SERVER_ID}`],
        detail: {
          'server-id': SERVER_ID,
          username: user,
          'file-path': `/${buckets.upload}/${key}`,
          'status-code': 'COMPLETED',
          bytes: head.ContentLength,
          etag: head.ETag?.replace(/"/g, ''),
          'session-id': 'harness',
          'start-timestamp': '2026-12-04T11:59:59Z',
          'end-timestamp': '2026-12-04T12:00:00Z',
        },
      });
    },

    /** An S3 event notification for the export bucket: keys form-encoded, as S3 sends them. */
    async exportCreated(key: string): Promise<string> {
      const head = await admin.send(new HeadObjectCommand({ Bucket: buckets.export, Key: key }));
      const encoded = key
        .split('/')
        .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
        .join('/');
      return JSON.stringify({
        Records: [
          {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            awsRegion: REGION,
            eventTime: '2026-12-04T12:00:00.000Z',
            eventName: 'ObjectCreated:Put',
            s3: {
              s3SchemaVersion: '1.0',
              bucket: { name: buckets.export, arn: `arn:aws:s3:::${buckets.export}` },
              object: { key: encoded, size: head.ContentLength, eTag: head.ETag?.replace(/"/g, '') },
            },
          },
        ],
      });
    },

    sqs,

    /** One scheduled run of the upload sweeper (the ingress bundle's `sweep` export); returns what it re-queued. */
    async sweep(): Promise<Invocation & { requeued: string[] }> {
      const container = containers.get('SweeperFunction');
      if (!container) throw new Error('SweeperFunction is not in the template');
      const result = await container.invoke({
        version: '0',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        region: REGION,
        detail: {},
      });
      return { ...result, requeued: sqs.take(queueArn('IngressFunction')) };
    },

    /** One SQS batch to a function, as its event source mapping delivers it. */
    async invoke(
      fn: 'IngressFunction' | 'EgressFunction',
      messages: { body: string; messageId?: string; receiveCount?: number }[],
    ): Promise<Invocation & { messageIds: string[] }> {
      const container = containers.get(fn);
      if (!container) throw new Error(`${fn} is not in the template`);
      const Records: SqsRecord[] = messages.map((message) => ({
        messageId: message.messageId ?? `m-${++sequence}`,
        receiptHandle: randomUUID(),
        body: message.body,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount ?? 1),
          SentTimestamp: '1796385600000',
          ApproximateFirstReceiveTimestamp: '1796385600000',
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(message.body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn(fn),
        awsRegion: REGION,
      }));
      const result = await container.invoke({ Records });
      return { ...result, messageIds: Records.map((record) => record.messageId) };
    },

    /**
     * Every object of every bucket: content (text for small text objects, else sha256), tags and sftpctl metadata,
     * read as the account's administrator.
     */
    async state(): Promise<Record<BucketName, Record<string, ObjectState>>> {
      const out = {} as Record<BucketName, Record<string, ObjectState>>;
      for (const [purpose, bucket] of Object.entries(buckets) as [BucketName, string][]) {
        out[purpose] = {};
        const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
        for (const object of listed.Contents ?? []) {
          const key = object.Key!;
          const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const bytes = Buffer.from(await got.Body!.transformToByteArray());
          const tagging = await admin.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
          const tags = Object.fromEntries((tagging.TagSet ?? []).map((tag) => [tag.Key!, tag.Value ?? '']));
          const text = bytes.length <= 4096 ? readableText(bytes) : undefined;
          out[purpose][key] = {
            ...(text !== undefined && !text.startsWith('-----BEGIN PGP') ? { text } : {}),
            sha256: createHash('sha256').update(bytes).digest('hex'),
            ...(Object.keys(tags).length ? { tags } : {}),
          };
        }
      }
      return out;
    },

    /** A cold start: the function's container is replaced, so nothing it cached (secrets, keys) survives. */
    async coldStart(fn: 'IngressFunction' | 'EgressFunction'): Promise<void> {
      containers.get(fn)?.stop();
      containers.set(fn, await starts.get(fn)!());
    },

    /** Empties every bucket and forgets the recorded checks: the next case starts from a fresh deployment. */
    async reset(): Promise<void> {
      for (const bucket of Object.values(buckets)) {
        const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
        for (const object of listed.Contents ?? [])
          await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
      }
      checks.length = 0;
      secretsManager.calls.length = 0;
    },

    /** The checks IAM denied since `from` (an index into `checks`). */
    denied(from = 0): S3Check[] {
      return checks.slice(from).filter((check) => !check.decision.allowed);
    },

    async stop() {
      for (const container of containers.values()) container.stop();
      admin.destroy();
      await s3rver.stop();
      await secretsManager.stop();
      await sqs.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
  return platform;
}

/** The bytes as text when they are printable UTF-8 (sidecars, plaintext, records), else undefined. */
function readableText(bytes: Buffer): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /[\x00-\x08\x0e-\x1f\x7f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

export interface ObjectState {
  text?: string;
  sha256: string;
  tags?: Record<string, string>;
}

export type Platform = Awaited<ReturnType<typeof startPlatform>>;
