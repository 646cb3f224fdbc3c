import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';
import type { TransferClient } from '@aws-sdk/client-transfer';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { Environment } from '../core/config/schema.js';
import { isSftpctlError, SftpctlError } from '../core/errors.js';
import { isSsoProfile, type ProfileSettings, requireProfile } from './profiles.js';
import { reportWait } from './waits.js';

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

export type ServiceName = 'sts' | 'secrets' | 'transfer' | 'cloudformation' | 's3' | 'sqs' | 'cloudwatch' | 'dynamodb';

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

/** Seconds any one AWS connection may take to open, or stay silent: SFTPCTL_AWS_TIMEOUT, default 30. */
export function awsTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.SFTPCTL_AWS_TIMEOUT;
  if (text === undefined || text.trim() === '') return DEFAULT_TIMEOUT_SECONDS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw new SftpctlError(
      'INVALID_ENV',
      `SFTPCTL_AWS_TIMEOUT: "${text}" is not a number of seconds from 0.1 to 3600.`,
      `Set it like SFTPCTL_AWS_TIMEOUT=30, or unset it for the default (${DEFAULT_TIMEOUT_SECONDS}).`,
      { kind: 'usage' },
    );
  return seconds;
}

const DEFAULT_TIMEOUT_SECONDS = 30;
const MAX_ATTEMPTS = 3;
const CLOUDFORMATION_ATTEMPTS = 10;

type Credentials = AwsCredentialIdentityProvider;

/** Creates SDK clients lazily: each SDK module loads only when a command first needs it. */
export class AwsClients {
  private readonly cache = new Map<string, unknown>();
  private credentialsPromise: Promise<Credentials> | undefined;

  constructor(readonly target: AwsTarget) {}

  /** The standard chain, after checking a named profile exists; failures say what to run (SSO login, MFA). */
  private credentials(): Promise<Credentials> {
    this.credentialsPromise ??= (async () => {
      const profile = this.target.profile;
      const settings = profile
        ? await requireProfile(profile, process.env.AWS_PROFILE === profile ? 'AWS_PROFILE' : '--profile')
        : undefined;
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      const chain = fromNodeProviderChain({
        ...(profile ? { profile } : {}),
        mfaCodeProvider: (serial: string) => askMfaCode(profile ?? 'default', serial),
        clientConfig: {
          region: this.target.region,
          requestHandler: requestHandlerOptions(),
          maxAttempts: MAX_ATTEMPTS,
        },
      });
      return async () => {
        try {
          return await chain();
        } catch (error) {
          throw credentialsError(error, profile, settings);
        }
      };
    })();
    this.credentialsPromise.catch(() => {
      this.credentialsPromise = undefined;
    });
    return this.credentialsPromise;
  }

  private async client<T>(
    name: ServiceName,
    create: (config: { region: string; credentials: Credentials }) => Promise<T>,
  ): Promise<T> {
    // The promise is cached, not the client: concurrent first calls share one client.
    if (!this.cache.has(name)) {
      // The SDK warns on Node 20 that SDK releases after January 2027 will need Node 22. sftpctl ships a locked SDK
      // and supports Node 20 (engines), so the warning would only alarm operators on every command.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const created = (async () => {
        const seconds = awsTimeoutSeconds();
        const credentials = await this.credentials();
        // The SDK's own retries stay (3 attempts; CloudFormation sets 10 for deploy-time throttling).
        const client = await create({
          requestHandler: requestHandlerOptions(seconds),
          region: this.target.region,
          credentials,
          ...(this.target.overrides?.[name] ?? {}),
        } as { region: string; credentials: Credentials });
        const attempts = name === 'cloudformation' ? CLOUDFORMATION_ATTEMPTS : MAX_ATTEMPTS;
        boundWaits(client as unknown as SdkClient, name, this.target.region, seconds, attempts);
        return client;
      })();
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
          maxAttempts: CLOUDFORMATION_ATTEMPTS,
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

  dynamoDb(): Promise<DynamoDBClient> {
    return this.client(
      'dynamodb',
      async (config) => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(config),
    );
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
    // Timeouts, DNS, refused connections and AWS's own answers are not credential faults: the fault classifier
    // reports them as what they are. Only a failure to get or use credentials is reported as one here.
    if (isSftpctlError(error) || isNetworkError(error)) throw error;
    throw credentialsError(error, clients.target.profile, undefined);
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

/** Connect and inactivity timeouts for every AWS connection (the SDK has none by default: a silent peer hangs). */
function requestHandlerOptions(seconds = awsTimeoutSeconds()) {
  const ms = Math.round(seconds * 1000);
  return { connectionTimeout: ms, socketTimeout: ms };
}

interface SdkClient {
  middlewareStack: {
    add(middleware: unknown, options: { step: string; name: string; priority?: string }): void;
  };
  destroy(): void;
}

/**
 * Every call of `client`: a progress report once it has waited a second, a deadline over all its attempts (the
 * connect and inactivity timeouts bound each one), and a timeout reported naming the endpoint and region.
 */
function boundWaits(client: SdkClient, service: ServiceName, region: string, seconds: number, attempts: number): void {
  let endpoint: string | undefined;
  client.middlewareStack.add(
    (next: (args: { request?: { protocol?: string; hostname?: string; port?: number } }) => Promise<unknown>) =>
      async (args: { request?: { protocol?: string; hostname?: string; port?: number } }) => {
        const request = args.request;
        if (request?.hostname)
          endpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
        return next(args);
      },
    { step: 'finalizeRequest', name: 'sftpctlEndpoint', priority: 'low' },
  );
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const where = () => endpoint ?? `${service}.${region}.amazonaws.com`;
      const operation = (context.commandName ?? 'call').replace(/Command$/, '');
      let endWait: (() => void) | undefined;
      const waitTimer = setTimeout(() => {
        endWait = reportWait(`Waiting for AWS ${service} ${operation} (${region})…`);
      }, 1000);
      let deadlineTimer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        deadlineTimer = setTimeout(
          () => {
            client.destroy();
            reject(new Error('deadline'));
          },
          seconds * 1000 * (attempts + 1),
        );
      });
      try {
        return await Promise.race([next(args), deadline]);
      } catch (error) {
        if (error instanceof Error && (error.name === 'TimeoutError' || error.message === 'deadline'))
          throw timeoutError(service, operation, where(), region, seconds, error);
        throw error;
      } finally {
        clearTimeout(waitTimer);
        clearTimeout(deadlineTimer);
        endWait?.();
      }
    },
    { step: 'initialize', name: 'sftpctlBoundedWait', priority: 'high' },
  );
}

function timeoutError(
  service: string,
  operation: string,
  endpoint: string,
  region: string,
  seconds: number,
  cause: Error,
): SftpctlError {
  return new SftpctlError(
    'AWS_TIMEOUT',
    `No answer from ${endpoint} (AWS ${service} ${operation}, region ${region}) within ${seconds} s.`,
    'Check the network, VPN and proxy (HTTPS_PROXY) and any AWS_ENDPOINT_URL setting, then run it again; ' +
      'SFTPCTL_AWS_TIMEOUT sets the seconds to wait. Operations already started carry on in AWS (sftpctl status).',
    { cause },
  );
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  return error.name === 'TimeoutError' || (code !== undefined && NETWORK_CODES.has(code));
}

/** A failure to get or use credentials, with what to run: the SSO login, the MFA code, the profile to check. */
function credentialsError(error: unknown, profile: string | undefined, settings: ProfileSettings | undefined) {
  if (isSftpctlError(error) || isNetworkError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (profile && (isSsoProfile(settings) || /sso/i.test(message))) {
    return new SftpctlError(
      'AWS_SSO_LOGIN_REQUIRED',
      `AWS profile "${profile}" signs in through IAM Identity Center (SSO), and there is no valid sign-in: ${message}`,
      `Run \`aws sso login --profile ${profile}\`, then run this command again. Nothing was changed.`,
      { cause: error },
    );
  }
  return new SftpctlError(
    'AWS_CREDENTIALS',
    `Could not get AWS credentials${profile ? ` from profile "${profile}"` : ''}: ${message}`,
    profile
      ? `Check the keys or role of profile ${profile} (\`aws sts get-caller-identity --profile ${profile}\` shows the same). Nothing was changed.`
      : 'Sign in (aws sso login, or set AWS_PROFILE / --profile) and try again. Nothing was changed.',
    { cause: error },
  );
}

/** The token code of an MFA device, asked hidden at a terminal; without one, a clear error instead of a hang. */
async function askMfaCode(profile: string, serial: string): Promise<string> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new SftpctlError(
      'AWS_MFA_REQUIRED',
      `AWS profile "${profile}" needs an MFA code (mfa_serial ${serial}), and there is no terminal to type it on.`,
      `Run the command in a terminal, or get temporary credentials first (\`aws configure export-credentials --profile ${profile} --format env\`) and export them. Nothing was changed.`,
      { kind: 'usage' },
    );
  }
  const { password } = await import('@inquirer/prompts');
  const code = await password(
    {
      message: `MFA code for ${serial} (profile ${profile})`,
      mask: false,
      validate: (value) => (/^\d{6}$/.test(value.trim()) ? true : 'Six digits from the MFA device'),
    },
    { output: process.stderr },
  );
  return code.trim();
}
