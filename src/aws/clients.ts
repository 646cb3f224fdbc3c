import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';
import type { TransferClient } from '@aws-sdk/client-transfer';
import type { Environment } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';

/** Where AWS calls go: credentials from the standard provider chain (profile, SSO, environment, instance role). */
export interface AwsTarget {
  region: string;
  profile: string | undefined;
  /**
   * Extra client settings per service, e.g. `{ s3: { endpoint, forcePathStyle } }` to point S3 at a local server.
   * (The SDK also honours AWS_ENDPOINT_URL_<SERVICE> by itself.)
   */
  overrides?: Partial<Record<ServiceName, Record<string, unknown>>>;
}

export type ServiceName = 'sts' | 'secrets' | 'transfer' | 'cloudformation' | 's3' | 'sqs' | 'cloudwatch';

/** `--region` beats the config, which beats the environment ($AWS_REGION). */
export function awsTarget(env: Environment, flags: { region?: string; profile?: string }): AwsTarget {
  const region = flags.region ?? (env.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
  if (!region)
    throw new SftpctlError(
      'AWS_REGION_MISSING',
      `No region for environment ${env.name}.`,
      'Set region in the config, or pass --region.',
      { kind: 'usage' },
    );
  return { region, profile: flags.profile ?? process.env.AWS_PROFILE };
}

/** Creates SDK clients lazily: each SDK module loads only when a command first needs it. */
export class AwsClients {
  private readonly cache = new Map<string, unknown>();

  constructor(readonly target: AwsTarget) {}

  private async credentials() {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    return fromNodeProviderChain(this.target.profile ? { profile: this.target.profile } : {});
  }

  private async client<T>(
    name: ServiceName,
    create: (config: { region: string; credentials: Awaited<ReturnType<AwsClients['credentials']>> }) => Promise<T>,
  ): Promise<T> {
    // The promise is cached, not the client: concurrent first calls share one client.
    if (!this.cache.has(name)) {
      // The SDK warns on Node 20 that SDK releases after January 2027 will need Node 22. sftpctl ships a locked SDK
      // and supports Node 20 (engines), so the warning would only alarm operators on every command.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const created = this.credentials().then((credentials) =>
        create({ region: this.target.region, credentials, ...(this.target.overrides?.[name] ?? {}) }),
      );
      this.cache.set(name, created);
      created.catch(() => this.cache.delete(name));
    }
    return this.cache.get(name) as Promise<T>;
  }

  sts(): Promise<STSClient> {
    return this.client('sts', async (config) => new (await import('@aws-sdk/client-sts')).STSClient(config));
  }

  secretsManager(): Promise<SecretsManagerClient> {
    return this.client(
      'secrets',
      async (config) => new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient(config),
    );
  }

  transfer(): Promise<TransferClient> {
    return this.client(
      'transfer',
      async (config) => new (await import('@aws-sdk/client-transfer')).TransferClient(config),
    );
  }

  cloudFormation(): Promise<CloudFormationClient> {
    return this.client(
      'cloudformation',
      // Many stacks poll at once during a deploy: adaptive retries back off together when CloudFormation throttles.
      async (config) =>
        new (await import('@aws-sdk/client-cloudformation')).CloudFormationClient({
          maxAttempts: 10,
          retryMode: 'adaptive',
          ...config,
        }),
    );
  }

  s3(): Promise<S3Client> {
    return this.client('s3', async (config) => new (await import('@aws-sdk/client-s3')).S3Client(config));
  }

  sqs(): Promise<SQSClient> {
    return this.client('sqs', async (config) => new (await import('@aws-sdk/client-sqs')).SQSClient(config));
  }

  cloudWatch(): Promise<CloudWatchClient> {
    return this.client(
      'cloudwatch',
      async (config) => new (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient(config),
    );
  }
}

/** Before any change: refuse to touch an account other than the one the environment names. */
export async function assertAccount(clients: AwsClients, env: Environment): Promise<string> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  let account: string | undefined;
  try {
    account = (await (await clients.sts()).send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    throw new SftpctlError(
      'AWS_CREDENTIALS',
      `Could not identify the AWS account: ${(error as Error).message}`,
      'Sign in (aws sso login, or set AWS_PROFILE / --profile) and try again. Nothing was changed.',
      { cause: error },
    );
  }
  if (env.account && account !== env.account) {
    throw new SftpctlError(
      'AWS_ACCOUNT_MISMATCH',
      `These credentials are for account ${account}, but environment ${env.name} is account ${env.account}.`,
      'Use the profile for the right account (--profile). Nothing was changed.',
    );
  }
  return account ?? 'unknown';
}
