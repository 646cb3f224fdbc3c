import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CommandContext } from '../../src/commands/context.js';
import { generatePgpKeyPair } from '../../src/core/crypto/pgp-keygen.js';
import { generateSshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import type { EngineOverrides } from '../../src/deploy/engine-deps.js';
import { fakeAws } from './aws-fakes.js';
import { capturingContext } from './context.js';
import { FakeCloudFormation } from './fake-cloudformation.js';
import { startS3rver } from './s3rver.js';

export const ACCOUNT = '111122223333';
export const SERVER_ID = 's-0123456789abcdef0';

/** Output values the fake CloudFormation gives every stack that declares them: shaped like the real ones. */
const OUTPUT_VALUES = {
  AssetsBucketName: 'shop-dev-assets',
  AccessLogBucketName: 'shop-dev-access-logs',
  PlatformKeyArn: `arn:aws:kms:eu-west-2:${ACCOUNT}:key/0b8e2f4c-5a2e-4d1b-9c3e-2f1a0d9e8c7b`,
  VpcId: 'vpc-0a1b2c3d4e5f60718',
  SubnetIds: 'subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718',
  AddressAllocationIds: 'eipalloc-0a1b2c3d4e5f60718,eipalloc-1a1b2c3d4e5f60718',
  PublicIps: '198.51.100.10,198.51.100.11',
  SecurityGroupId: 'sg-0a1b2c3d4e5f60718',
  ServerId: SERVER_ID,
  ServerArn: `arn:aws:transfer:eu-west-2:${ACCOUNT}:server/${SERVER_ID}`,
  EndpointHostName: `${SERVER_ID}.server.transfer.eu-west-2.amazonaws.com`,
  LogGroupName: '/sftpctl/shop/dev/transfer',
};

export interface HarnessOptions {
  clients?: string[];
  /** Environment `protected: true`. */
  protected?: boolean;
  /** Account the credentials belong to (default: the config's). */
  callerAccount?: string;
  /** Give each client its PGP keys (ingress pair, partner public key), as a finished onboarding would. */
  pgp?: boolean;
  /** Allow-list this many more /32 addresses for the first client: a network template over 51,200 bytes. */
  extraIps?: number;
}

/**
 * A whole deploy world without AWS: a project folder with real SSH keys, the fake CloudFormation, STS and Transfer
 * mocks, and a real S3 API (s3rver) holding the assets bucket. Commands run in-process with no waiting.
 */
export async function deployHarness(options: HarnessOptions = {}) {
  const clients = options.clients ?? ['bank', 'carrier', 'ministry'];
  const dir = await mkdtemp(join(tmpdir(), 'sftpctl-deploy-'));
  const keys: Record<string, string> = {};
  for (const client of clients) {
    await mkdir(join(dir, 'keys', client), { recursive: true });
    for (const role of ['upload', 'download']) {
      const pair = await generateSshKeyPair({ type: 'ed25519', comment: `${client}-${role}` });
      keys[`${client}-${role}`] = pair.publicKey.trim();
      await writeFile(join(dir, 'keys', client, `${role}.pub`), pair.publicKey);
    }
    if (options.pgp) {
      const ingress = await generatePgpKeyPair({ name: `${client} ingress`, type: 'curve25519' });
      const partner = await generatePgpKeyPair({ name: `${client} partner`, type: 'curve25519' });
      await writeFile(join(dir, 'keys', client, 'ingress.pub.asc'), ingress.publicKey);
      await writeFile(join(dir, 'keys', client, 'ingress.key.asc'), ingress.privateKey, { mode: 0o600 });
      await writeFile(join(dir, 'keys', client, 'partner.pub.asc'), partner.publicKey);
    }
  }
  const pgpBlock = (client: string) =>
    options.pgp
      ? `\n    pgp:\n      ingressPublicKey: keys/${client}/ingress.pub.asc\n      ingressPrivateKey: keys/${client}/ingress.key.asc\n      partnerPublicKey: keys/${client}/partner.pub.asc`
      : '';
  const extraIps = Array.from(
    { length: options.extraIps ?? 0 },
    (_, i) => `, 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}/32`,
  ).join('');
  const config = `project: shop
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }${options.extraIps ? '\n  securityGroupRuleLimit: 1000' : ''}
environments:
  dev:
    account: "${ACCOUNT}"${options.protected ? '\n    protected: true' : ''}
clients:
${clients
  .map(
    (client, index) => `  - name: ${client}
    allowedIps: [203.0.113.${index * 8}/29${index === 0 ? extraIps : ''}]
    upload:
      sshKeys: [keys/${client}/upload.pub]
    download:
      sshKeys: [keys/${client}/download.pub]${pgpBlock(client)}`,
  )
  .join('\n')}
`;
  await writeFile(join(dir, 'sftpctl.yaml'), config);

  const s3rver = await startS3rver([OUTPUT_VALUES.AssetsBucketName, OUTPUT_VALUES.AccessLogBucketName]);
  const s3 = new S3Client({ region: 'eu-west-2', ...s3rver.s3Overrides });
  const fetched: string[] = [];
  const cloudFormation = new FakeCloudFormation({
    outputs: OUTPUT_VALUES,
    fetchTemplate: async (url) => {
      fetched.push(url);
      const match = /^https:\/\/([^.]+)\.s3\.[a-z0-9-]+\.amazonaws\.com\/(.+)$/.exec(url);
      if (!match) throw new Error(`not an S3 URL: ${url}`);
      const object = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
      return object.Body!.transformToString();
    },
  });
  const cfnMock = cloudFormation.install();
  const aws = fakeAws({
    cloudFormation: false,
    usersOnDemand: true,
    account: options.callerAccount ?? ACCOUNT,
  });
  const testing: EngineOverrides = { deps: { sleep: async () => {}, pollMs: 0 }, aws: { s3: s3rver.s3Overrides } };

  return {
    dir,
    keys,
    cloudFormation,
    aws,
    s3,
    s3rver,
    /** Rewrites the project's sftpctl.yaml, as an operator editing it would. */
    async editConfig(edit: (text: string) => string) {
      const file = join(dir, 'sftpctl.yaml');
      await writeFile(file, edit(await readFile(file, 'utf8')));
    },
    /** TemplateURLs the fake fetched from the real S3 server. */
    fetched,
    testing,
    /** Runs a command function in-process (no TTY, --yes unless told otherwise) and captures its output. */
    async run<O>(
      command: (options: O, context: CommandContext, testing: EngineOverrides) => Promise<number>,
      commandOptions: O,
      contextOptions: { json?: boolean; yes?: boolean; prompter?: CommandContext['prompter'] } = {},
    ) {
      const captured = capturingContext(dir, { env: 'dev', ...(contextOptions.json ? { json: true } : {}) });
      if (contextOptions.yes === false) captured.context.globals.yes = false;
      if (contextOptions.prompter) {
        captured.context.prompter = contextOptions.prompter;
        captured.context.interactive = true;
      }
      let code: number;
      try {
        code = await command(commandOptions, captured.context, testing);
      } catch (error) {
        return {
          code: -1,
          error: error as Error & { code?: string; hint?: string },
          stdout: captured.stdout(),
          stderr: captured.stderr(),
        };
      }
      return { code, error: undefined, stdout: captured.stdout(), stderr: captured.stderr() };
    },
    async close() {
      cfnMock.restore();
      aws.restore();
      s3.destroy();
      await s3rver.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
