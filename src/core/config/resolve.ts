import { SftpctlError } from '../errors.js';
import { closestMatch, type ProblemList } from './problems.js';
import {
  type Client,
  type Config,
  ENVIRONMENT_DEFAULTS,
  type Environment,
  type EnvironmentInput,
  type ParsedConfig,
} from './schema.js';

/** Applies `defaults` and built-in defaults to every environment; reports settings missing from both. */
export function resolveConfig(parsed: ParsedConfig, problems: ProblemList): Config {
  const environments: Record<string, Environment> = {};
  for (const [name, input] of Object.entries(parsed.environments)) {
    environments[name] = resolveEnvironment(name, parsed.defaults, input, problems);
  }
  return {
    project: parsed.project,
    tags: parsed.tags,
    environments,
    clients: parsed.clients,
    ...(parsed.alerts ? { alerts: parsed.alerts } : {}),
  };
}

function resolveEnvironment(
  name: string,
  defaults: EnvironmentInput,
  input: EnvironmentInput,
  problems: ProblemList,
): Environment {
  const region = input.region ?? defaults.region;
  const cidr = input.vpc?.cidr ?? defaults.vpc?.cidr;
  if (region === undefined) {
    problems.error(
      'ENV_REGION_MISSING',
      ['environments', name],
      `environment "${name}" has no region`,
      'Set `region:` under this environment or under `defaults:` (for example eu-west-2).',
      'key',
    );
  }
  if (cidr === undefined) {
    problems.error(
      'ENV_VPC_CIDR_MISSING',
      ['environments', name],
      `environment "${name}" has no VPC CIDR`,
      'Set `vpc: { cidr: 10.42.0.0/24 }` under this environment or under `defaults:`.',
      'key',
    );
  }
  return {
    name,
    account: input.account ?? defaults.account,
    region: region ?? '',
    vpc: { cidr: cidr ?? '', azCount: input.vpc?.azCount ?? defaults.vpc?.azCount ?? ENVIRONMENT_DEFAULTS.vpc.azCount },
    transfer: {
      protocols: input.transfer?.protocols ??
        defaults.transfer?.protocols ?? [...ENVIRONMENT_DEFAULTS.transfer.protocols],
      securityPolicy:
        input.transfer?.securityPolicy ??
        defaults.transfer?.securityPolicy ??
        ENVIRONMENT_DEFAULTS.transfer.securityPolicy,
      ...certificateOf(input, defaults),
    },
    logRetentionDays: input.logRetentionDays ?? defaults.logRetentionDays ?? ENVIRONMENT_DEFAULTS.logRetentionDays,
    protected: input.protected ?? defaults.protected ?? ENVIRONMENT_DEFAULTS.protected,
    securityGroupRuleLimit:
      input.securityGroupRuleLimit ?? defaults.securityGroupRuleLimit ?? ENVIRONMENT_DEFAULTS.securityGroupRuleLimit,
    identity: {
      mode: input.identity?.mode ?? defaults.identity?.mode ?? ENVIRONMENT_DEFAULTS.identity.mode,
      securityGroup:
        input.identity?.securityGroup ??
        defaults.identity?.securityGroup ??
        ENVIRONMENT_DEFAULTS.identity.securityGroup,
      securityGroupExplicit: (input.identity?.securityGroup ?? defaults.identity?.securityGroup) !== undefined,
    },
  };
}

function certificateOf(input: EnvironmentInput, defaults: EnvironmentInput): { certificate?: string } {
  const certificate = input.transfer?.certificate ?? defaults.transfer?.certificate;
  return certificate === undefined ? {} : { certificate };
}

/** Where the value of an environment setting was written: the environment itself or `defaults`. */
export function environmentFieldPath(parsed: ParsedConfig, env: string, field: readonly string[]): (string | number)[] {
  let node: unknown = parsed.environments[env];
  for (const segment of field) node = (node as Record<string, unknown> | undefined)?.[segment];
  return node === undefined ? ['defaults', ...field] : ['environments', env, ...field];
}

/** Names of the environments a client exists in. */
export function clientEnvironments(config: Pick<Config, 'environments'>, client: Client): string[] {
  return client.environments ?? Object.keys(config.environments);
}

export function clientsInEnvironment(config: Config, env: string): Client[] {
  return config.clients.filter((client) => clientEnvironments(config, client).includes(env));
}

export function userNameOf(client: Client, role: 'upload' | 'download'): string | undefined {
  const user = client[role];
  if (user == null) return undefined;
  return user.userName ?? `${client.name}-${role}`;
}

/**
 * The client named on the command line, in `env` when one is given: the one lookup every command uses, refusing an
 * unknown name with the closest match and the names there are, and a client not deployed in that environment.
 */
export function requireClient(config: Config, name: string, env?: string): Client {
  const client = config.clients.find((entry) => entry.name === name);
  if (!client) {
    const known = config.clients.map((entry) => entry.name);
    const guess = closestMatch(name, known);
    throw new SftpctlError(
      'CLIENT_NOT_FOUND',
      `There is no client "${name}".`,
      `${guess ? `Did you mean ${guess}? ` : ''}Clients: ${known.join(', ') || 'none'}.`,
    );
  }
  if (env !== undefined && !clientEnvironments(config, client).includes(env)) {
    throw new SftpctlError(
      'CLIENT_NOT_IN_ENV',
      `Client ${name} does not exist in environment ${env}.`,
      `Its environments: ${clientEnvironments(config, client).join(', ')}.`,
      { kind: 'usage' },
    );
  }
  return client;
}
