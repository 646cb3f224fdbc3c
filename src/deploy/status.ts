import type { Stack } from '@aws-sdk/client-cloudformation';
import { type AwsClients, assertAccount } from '../aws/clients.js';
import { listUserKeys, type ServerSshKey } from '../aws/transfer-keys.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import { clientStackName } from '../core/config/naming.js';
import { clientsInEnvironment, userNameOf } from '../core/config/resolve.js';
import type { Client, Config } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';
import type { StackKind } from '../templates/cfn.js';
import { OUTPUTS } from '../templates/context.js';
import { synthesize } from '../templates/synthesize.js';
import { selectStacks } from './deploy.js';
import { mapLimit } from './engine-deps.js';
import { tableKeySource, type UserKeySource } from './identity-status.js';
import { configRecords } from './identity-table.js';
import { isStackMissing, statusTone } from './stack-status.js';

/**
 * `sftpctl status`: what one environment looks like in AWS, read-only. Every lookup that fails records `unknown`
 * and its reason on its own item and a line in `problems`; one AccessDenied never hides the rest of the report.
 */

/** What a lookup that failed reports instead of a value. */
export const UNKNOWN = 'unknown';
/** Status of a stack the config expects and CloudFormation does not have. */
export const NOT_DEPLOYED = 'NOT_DEPLOYED';
export const DEFAULT_CONCURRENCY = 8;
/** Function errors are summed over this window, in hourly periods. */
export const ERROR_WINDOW_HOURS = 24;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** GetMetricData takes at most 500 queries a request. */
const METRIC_QUERIES_PER_REQUEST = 500;

export type UserRole = 'upload' | 'download';
export type Chain = 'ingress' | 'egress';

export interface StackState {
  name: string;
  kind: StackKind;
  client?: string;
  /** CloudFormation's StackStatus, `NOT_DEPLOYED`, or `unknown` when it could not be read. */
  status: string;
  statusReason?: string;
  /** ISO time of the last update (or creation). */
  lastUpdated?: string;
  /** Null when the stack is not deployed or this was not read (ListStacks does not say). */
  terminationProtection: boolean | null;
  /** A client stack of this environment whose client the config no longer has (e.g. after `client remove`). */
  orphan?: true;
  problem?: string;
}

export interface ServerState {
  id: string;
  /** Transfer's server State (ONLINE, OFFLINE, STARTING, STOPPING, START_FAILED, STOP_FAILED) or `unknown`. */
  state: string;
  endpoint: string | null;
  publicIps: string[];
  securityPolicy: string | null;
  protocols: string[];
  problem?: string;
}

export interface UserKeyState {
  fingerprint: string;
  /** Whole days since the key was imported; null when Transfer does not say. */
  ageDays: number | null;
  importedAt: string | null;
  /** Whether the config lists this key; null when the config's keys could not be read. */
  inConfig: boolean | null;
  /** Listed as retiring by a rotation in progress. */
  retiring?: true;
  /** Lambda identity mode: when the identity function stops accepting it (a rotation's retiring key). */
  expiresAt?: string;
}

export interface UserState {
  client: string;
  role: UserRole;
  userName: string;
  keys: UserKeyState[] | typeof UNKNOWN;
  /** How many keys the config lists for this user. */
  expected: number;
  problem?: string;
}

export interface QueueState {
  client: string;
  chain: Chain;
  deadLetterUrl: string;
  /** ApproximateNumberOfMessages of the dead-letter queue. */
  depth: number | typeof UNKNOWN;
  problem?: string;
}

export interface FunctionErrorsState {
  client: string;
  chain: Chain;
  functionName: string;
  /** Sum of AWS/Lambda Errors over the last 24 hours. */
  errors: number | typeof UNKNOWN;
  problem?: string;
}

/** A CloudWatch alarm of this environment that is firing (state ALARM). */
export interface AlarmState {
  name: string;
  /** The client whose stack owns it (alarm names start with the client stack's name). */
  client?: string;
  description?: string;
  /** CloudWatch's state reason (what breached, when). */
  reason: string;
  /** When it went into ALARM (ISO). */
  since?: string;
}

export interface EnvironmentStatus {
  project: string;
  environment: string;
  region: string;
  account: string;
  /** When the report was taken (ISO). */
  checkedAt: string;
  stacks: StackState[];
  /** Null when the server stack is not deployed (or could not be read). */
  server: ServerState | null;
  users: UserState[];
  queues: QueueState[];
  functionErrors: FunctionErrorsState[];
  /** Alarms of the environment that are firing now (failed files, dead letters, errors, lost uploads). */
  alarms: AlarmState[];
  /** Everything that is not healthy, one sentence each; empty when all is well. */
  problems: string[];
}

export interface StatusDeps {
  config: Config;
  env: string;
  clients: AwsClients;
  now: Date;
  /** Report only these clients (the platform stacks are always reported). */
  clientFilter?: readonly string[];
  /** The config's key facts (from validation), to compare fingerprints; without them only key counts are compared. */
  keys?: KeyFacts;
  /** Most AWS calls in flight at once. */
  concurrency?: number;
}

const CHAIN_OF: Record<UserRole, Chain> = { upload: 'ingress', download: 'egress' };
const CLIENT_OUTPUTS = {
  upload: 'UploadUserName',
  download: 'DownloadUserName',
  ingress: { functionName: 'IngressFunctionName', deadLetterUrl: 'IngressDeadLetterQueueUrl' },
  egress: { functionName: 'EgressFunctionName', deadLetterUrl: 'EgressDeadLetterQueueUrl' },
} as const;

/** States in which the stack's resources never came to be (or are going): nothing to look up behind them. */
const WITHOUT_RESOURCES = new Set([
  'REVIEW_IN_PROGRESS',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_COMPLETE',
  'DELETE_IN_PROGRESS',
  'DELETE_COMPLETE',
]);

/**
 * `ok` (settled and healthy), `busy` (CloudFormation is working on it), `bad` (failed, rolled back, being deleted,
 * an unexecuted change set's empty shell, not deployed) or `unknown` (could not be read).
 */
export function stackHealth(status: string): 'ok' | 'busy' | 'bad' | 'unknown' {
  if (status === UNKNOWN) return 'unknown';
  if (status === NOT_DEPLOYED || WITHOUT_RESOURCES.has(status)) return 'bad';
  const tone = statusTone(status);
  return tone === 'good' ? 'ok' : tone === 'busy' ? 'busy' : 'bad';
}

/** Gathers the status of one environment. Throws only when the credentials are for another account. */
export async function gatherStatus(deps: StatusDeps): Promise<EnvironmentStatus> {
  const { config, env: envName, clients, now } = deps;
  const environment = config.environments[envName];
  if (!environment) {
    throw new SftpctlError(
      'ENV_UNKNOWN',
      `Environment "${envName}" is not in the config.`,
      `Known environments: ${Object.keys(config.environments).join(', ')}.`,
      { kind: 'usage' },
    );
  }
  const filter = deps.clientFilter && deps.clientFilter.length > 0 ? deps.clientFilter : undefined;
  const synth = synthesize(config, envName, { format: 'json' });
  // The platform stacks always; the client stacks of --client only (an unknown name is refused, as deploy does).
  const expected = filter
    ? [...synth.stacks.filter((stack) => stack.kind !== 'client'), ...selectStacks(synth.stacks, filter, envName)]
    : synth.stacks;
  const account = await assertAccount(clients, environment);

  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const problems: string[] = [];
  const configClients = new Map(clientsInEnvironment(config, envName).map((client) => [client.name, client]));

  // 1. Stacks: each one the config expects; without a client filter also client stacks the config no longer has.
  const cfn = await clients.cloudFormation();
  const { DescribeStacksCommand, ListStacksCommand, StackStatus } = await import('@aws-sdk/client-cloudformation');
  const described = await mapLimit(
    expected,
    concurrency,
    async (stack): Promise<{ stack: Stack } | { missing: true } | { error: unknown }> => {
      try {
        const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stack.name }));
        return Stacks?.[0] ? { stack: Stacks[0] } : { missing: true };
      } catch (error) {
        return isStackMissing(error) ? { missing: true } : { error };
      }
    },
  );
  const stacks: StackState[] = [];
  /** Stacks whose resources exist, with their outputs: what the lookups of step 2 start from. */
  const deployed = new Map<string, Map<string, string>>();
  for (const [index, synthStack] of expected.entries()) {
    const result = described[index]!;
    const base = {
      name: synthStack.name,
      kind: synthStack.kind,
      ...(synthStack.client ? { client: synthStack.client } : {}),
    };
    if ('error' in result) {
      const problem = `could not read stack ${synthStack.name}: ${reason(result.error)}`;
      stacks.push({ ...base, status: UNKNOWN, terminationProtection: null, problem });
      problems.push(problem);
      continue;
    }
    if ('missing' in result) {
      stacks.push({ ...base, status: NOT_DEPLOYED, terminationProtection: null });
      continue;
    }
    const found = result.stack;
    const status = found.StackStatus ?? UNKNOWN;
    const updated = found.LastUpdatedTime ?? found.CreationTime;
    const state: StackState = {
      ...base,
      status,
      ...(found.StackStatusReason ? { statusReason: found.StackStatusReason } : {}),
      ...(updated ? { lastUpdated: updated.toISOString() } : {}),
      terminationProtection: found.EnableTerminationProtection ?? false,
    };
    const outputs = new Map(
      (found.Outputs ?? []).flatMap((output) =>
        output.OutputKey && output.OutputValue !== undefined ? [[output.OutputKey, output.OutputValue] as const] : [],
      ),
    );
    const own: string[] = [];
    const health = stackHealth(status);
    if (health === 'bad') {
      own.push(
        `stack ${synthStack.name} is ${status}${found.StackStatusReason ? ` (${found.StackStatusReason})` : ''}`,
      );
    } else if (health === 'ok') {
      const missing = synthStack.outputs.filter((name) => !outputs.has(name));
      const extra = [...outputs.keys()].filter((name) => !synthStack.outputs.includes(name));
      if (missing.length > 0 || extra.length > 0) {
        own.push(
          `stack ${synthStack.name} does not match the config (${[
            missing.length > 0 ? `outputs missing: ${missing.join(', ')}` : '',
            extra.length > 0 ? `outputs not in the config: ${extra.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; ')}): run sftpctl deploy`,
        );
      }
    }
    if (environment.protected && found.EnableTerminationProtection !== true) {
      own.push(
        `stack ${synthStack.name} has no termination protection, but environment ${envName} is protected: run sftpctl deploy`,
      );
    }
    if (own.length > 0) {
      state.problem = own.join('; ');
      problems.push(...own);
    }
    stacks.push(state);
    if (!WITHOUT_RESOURCES.has(status)) deployed.set(synthStack.name, outputs);
  }
  const notDeployed = stacks.filter((stack) => stack.status === NOT_DEPLOYED);
  if (notDeployed.length === stacks.length) {
    problems.push(
      `environment ${envName} is not deployed: none of its ${stacks.length} stacks exist in account ${account} (${clients.target.region}); run sftpctl deploy`,
    );
  } else {
    for (const stack of notDeployed) problems.push(`stack ${stack.name} is not deployed: run sftpctl deploy`);
  }

  if (!filter) {
    try {
      stacks.push(...(await orphanStacks(config, envName, configClients, cfn, ListStacksCommand, StackStatus)));
    } catch (error) {
      problems.push(`could not list the stacks of removed clients: ${reason(error)}`);
    }
    for (const stack of stacks.filter((entry) => entry.orphan)) problems.push(stack.problem!);
  }

  // 2. Everything that hangs off a deployed stack, concurrently.
  const serverOutputs = deployed.get(synth.stacks.find((stack) => stack.kind === 'server')!.name);
  const serverId = serverOutputs?.get(OUTPUTS.server.serverId);
  const clientStacks = expected
    .filter((stack) => stack.kind === 'client' && deployed.has(stack.name))
    .map((stack) => ({ client: configClients.get(stack.client!)!, outputs: deployed.get(stack.name)! }));

  const userTargets = clientStacks.flatMap(({ client, outputs }) =>
    (['upload', 'download'] as const).flatMap((role) => {
      const userName = userNameOf(client, role);
      return userName === undefined ? [] : [{ client, role, userName, outputs }];
    }),
  );
  const chainTargets = clientStacks.flatMap(({ client, outputs }) =>
    (['upload', 'download'] as const)
      .filter((role) => client[role] != null)
      .map((role) => ({ client, chain: CHAIN_OF[role], outputs })),
  );
  const queueTargets = chainTargets.flatMap(({ client, chain, outputs }) => {
    const url = outputs.get(CLIENT_OUTPUTS[chain].deadLetterUrl);
    return url ? [{ client: client.name, chain, deadLetterUrl: url }] : [];
  });
  const functionTargets = chainTargets.flatMap(({ client, chain, outputs }) => {
    const name = outputs.get(CLIENT_OUTPUTS[chain].functionName);
    return name ? [{ client: client.name, chain, functionName: name }] : [];
  });

  // The SDK clients are created once before fanning out (AwsClients creates one per concurrent first call).
  if (serverId || (userTargets.length > 0 && environment.identity.mode !== 'lambda')) await clients.transfer();
  if (queueTargets.length > 0) await clients.sqs();
  if (functionTargets.length > 0) await clients.cloudWatch();

  // One pool for every lookup, so the limit holds across kinds.
  const found: {
    server: Checked<ServerState> | null;
    users: Checked<UserState>[];
    queues: Checked<QueueState>[];
    functionErrors: Checked<FunctionErrorsState>[][];
  } = { server: null, users: [], queues: [], functionErrors: [] };
  const lookups: (() => Promise<void>)[] = [];
  if (serverOutputs) {
    lookups.push(async () => {
      found.server = await describeServer(clients, serverOutputs, environment.transfer);
    });
  }
  const table = environment.identity.mode === 'lambda' ? tableKeySource(clients, config, envName) : undefined;
  const keySource: UserKeySource | { unavailable: string } = table
    ? table.source
    : serverId
      ? {
          where: 'on the server',
          home: `on server ${serverId}`,
          list: (userName) => listUserKeys(clients, serverId, userName),
        }
      : {
          unavailable:
            serverOutputs !== undefined ? 'the server stack has no ServerId output' : 'the server is not deployed',
        };
  for (const [index, target] of userTargets.entries()) {
    lookups.push(async () => {
      found.users[index] = await userStatus(deps, target, keySource);
    });
  }
  let tableDrift: string[] = [];
  if (table && userTargets.length > 0) {
    lookups.push(async () => {
      const wanted = configRecords(
        config,
        envName,
        deps.keys ?? { ssh: new Map(), pgp: new Map() },
        new Map(),
        new Set(clientStacks.map(({ client }) => client.name)),
      );
      tableDrift = await table.drift(wanted, !filter);
    });
  }
  for (const [index, target] of queueTargets.entries()) {
    lookups.push(async () => {
      found.queues[index] = await queueStatus(clients, target);
    });
  }
  for (let start = 0, chunk = 0; start < functionTargets.length; start += METRIC_QUERIES_PER_REQUEST, chunk++) {
    const targets = functionTargets.slice(start, start + METRIC_QUERIES_PER_REQUEST);
    lookups.push(async () => {
      found.functionErrors[chunk] = await functionErrorsOf(clients, targets, now);
    });
  }
  const clientStacksDeployed = [...deployed.keys()].some((name) =>
    name.startsWith(`${config.project}-${envName}-client-`),
  );
  let alarms: { item: AlarmState[]; problems: string[] } | undefined;
  if (clientStacksDeployed) {
    lookups.push(async () => {
      alarms = await openAlarms(clients, `${config.project}-${envName}-`, [...configClients.keys()], {
        project: config.project,
        env: envName,
      });
    });
  }
  await mapLimit(lookups, concurrency, (lookup) => lookup());
  const { server, users, queues } = found;
  const functionErrors = found.functionErrors.flat();

  for (const checked of [server, ...users, ...queues, ...functionErrors, alarms])
    problems.push(...(checked?.problems ?? []));
  problems.push(...tableDrift);

  return {
    project: config.project,
    environment: envName,
    region: clients.target.region,
    account,
    checkedAt: now.toISOString(),
    stacks,
    server: server?.item ?? null,
    users: users.map((user) => user.item),
    queues: queues.map((queue) => queue.item),
    functionErrors: functionErrors.map((fn) => fn.item),
    alarms: alarms?.item ?? [],
    problems,
  };
}

/**
 * Client stacks of this environment that no client of the config owns: a removed client's users can still log in
 * until its stack is deleted. Stacks of another environment whose name shares the prefix (`a` + client `b-x` vs
 * environment `a-b`) are not counted.
 */
async function orphanStacks(
  config: Config,
  envName: string,
  configClients: ReadonlyMap<string, Client>,
  cfn: Awaited<ReturnType<AwsClients['cloudFormation']>>,
  ListStacksCommand: typeof import('@aws-sdk/client-cloudformation').ListStacksCommand,
  StackStatus: typeof import('@aws-sdk/client-cloudformation').StackStatus,
): Promise<StackState[]> {
  const prefix = clientStackName(config.project, envName, '');
  const otherPrefixes = Object.keys(config.environments)
    .filter((other) => other !== envName)
    .map((other) => clientStackName(config.project, other, ''))
    .filter((other) => other.startsWith(prefix));
  const filter = Object.values(StackStatus).filter((status) => status !== 'DELETE_COMPLETE');
  const found: StackState[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(
      new ListStacksCommand({ StackStatusFilter: filter, ...(token ? { NextToken: token } : {}) }),
    );
    for (const summary of page.StackSummaries ?? []) {
      const name = summary.StackName ?? '';
      if (!name.startsWith(prefix) || otherPrefixes.some((other) => name.startsWith(other))) continue;
      const client = name.slice(prefix.length);
      if (configClients.has(client)) continue;
      const updated = summary.LastUpdatedTime ?? summary.CreationTime;
      found.push({
        name,
        kind: 'client',
        client,
        status: summary.StackStatus ?? UNKNOWN,
        ...(summary.StackStatusReason ? { statusReason: summary.StackStatusReason } : {}),
        ...(updated ? { lastUpdated: updated.toISOString() } : {}),
        terminationProtection: null,
        orphan: true,
        problem: `stack ${name} belongs to no client of the config (removed client "${client}"?): its users can still log in until it is deleted`,
      });
    }
    token = page.NextToken;
  } while (token);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** An item of the report and the problems found about it (its `problem` field joins them). */
interface Checked<T> {
  item: T;
  problems: string[];
}

function checked<T extends { problem?: string }>(item: T, problems: string[]): Checked<T> {
  return { item: problems.length > 0 ? { ...item, problem: problems.join('; ') } : item, problems };
}

async function describeServer(
  clients: AwsClients,
  outputs: ReadonlyMap<string, string>,
  wanted: { securityPolicy: string; protocols: readonly string[] },
): Promise<Checked<ServerState> | null> {
  const id = outputs.get(OUTPUTS.server.serverId);
  if (!id) return null;
  const fromOutputs = {
    id,
    endpoint: outputs.get(OUTPUTS.server.endpointHostName) ?? null,
    publicIps: (outputs.get(OUTPUTS.server.publicIps) ?? '')
      .split(',')
      .map((ip) => ip.trim())
      .filter(Boolean),
  };
  const { DescribeServerCommand } = await import('@aws-sdk/client-transfer');
  try {
    const { Server } = await (await clients.transfer()).send(new DescribeServerCommand({ ServerId: id }));
    const state = Server?.State ?? UNKNOWN;
    const securityPolicy = Server?.SecurityPolicyName ?? null;
    const protocols = Server?.Protocols ?? [];
    const problems: string[] = [];
    if (state !== 'ONLINE') problems.push(`server ${id} is ${state}: partners cannot connect`);
    if (securityPolicy !== wanted.securityPolicy) {
      problems.push(
        `server ${id} uses security policy ${securityPolicy ?? 'none'}, the config says ${wanted.securityPolicy}: run sftpctl deploy`,
      );
    }
    if ([...protocols].sort().join(',') !== [...wanted.protocols].sort().join(',')) {
      problems.push(
        `server ${id} offers ${protocols.join(', ') || 'no protocol'}, the config says ${wanted.protocols.join(', ')}: run sftpctl deploy`,
      );
    }
    return checked<ServerState>({ ...fromOutputs, state, securityPolicy, protocols }, problems);
  } catch (error) {
    return checked<ServerState>({ ...fromOutputs, state: UNKNOWN, securityPolicy: null, protocols: [] }, [
      `could not read server ${id}: ${reason(error)}`,
    ]);
  }
}

/** The fingerprints the config lists for a user (undefined without key facts); `unreadable` entries gave no key. */
function configFingerprints(
  deps: Pick<StatusDeps, 'config' | 'keys'>,
  client: Client,
  role: UserRole,
): { fingerprints: string[] | undefined; count: number; unreadable: number[] } {
  const entries = client[role]?.sshKeys ?? [];
  if (!deps.keys) return { fingerprints: undefined, count: entries.length, unreadable: [] };
  const index = deps.config.clients.indexOf(client);
  const fingerprints: string[] = [];
  const unreadable: number[] = [];
  for (const entry of entries.keys()) {
    const keys = deps.keys.ssh.get(JSON.stringify(['clients', index, role, 'sshKeys', entry])) ?? [];
    if (keys.length === 0) unreadable.push(entry);
    for (const key of keys) if (!fingerprints.includes(key.fingerprint)) fingerprints.push(key.fingerprint);
  }
  return { fingerprints, count: fingerprints.length + unreadable.length, unreadable };
}

async function userStatus(
  deps: StatusDeps,
  target: { client: Client; role: UserRole; userName: string; outputs: ReadonlyMap<string, string> },
  source: UserKeySource | { unavailable: string },
): Promise<Checked<UserState>> {
  const { client, role, userName } = target;
  const wanted = configFingerprints(deps, client, role);
  const base = { client: client.name, role, userName, expected: wanted.count };
  if ('unavailable' in source) {
    // The server stack's own state is already a problem of the report; this only says why nothing was read.
    return {
      item: { ...base, keys: UNKNOWN, problem: `could not look up user ${userName}: ${source.unavailable}` },
      problems: [],
    };
  }
  const where = source.where;
  const problems: string[] = [];
  const deployedName = target.outputs.get(CLIENT_OUTPUTS[role]);
  if (deployedName !== undefined && deployedName !== userName) {
    problems.push(
      `the ${role} user of ${client.name} is ${deployedName} in AWS, ${userName} in the config: run sftpctl deploy`,
    );
  }
  let onServer: (ServerSshKey & { expiresAt?: string })[];
  try {
    onServer = await source.list(userName);
  } catch (error) {
    problems.push(
      error instanceof SftpctlError && error.code === 'USER_NOT_DEPLOYED'
        ? `user ${userName} (${client.name} ${role}) does not exist ${source.home}: run sftpctl deploy`
        : `could not read user ${userName}: ${reason(error)}`,
    );
    return checked<UserState>({ ...base, keys: UNKNOWN }, problems);
  }

  const rotation = client[role]?.rotation;
  const retiring = new Set(rotation?.retiring ?? []);
  const listed = wanted.fingerprints ? new Set(wanted.fingerprints) : undefined;
  const keys: UserKeyState[] = onServer.map((key) => ({
    fingerprint: key.fingerprint,
    ageDays: key.importedAt ? Math.max(0, Math.floor((deps.now.getTime() - key.importedAt.getTime()) / DAY_MS)) : null,
    importedAt: key.importedAt ? key.importedAt.toISOString() : null,
    inConfig: listed ? listed.has(key.fingerprint) : null,
    ...(retiring.has(key.fingerprint) ? { retiring: true as const } : {}),
    ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
  }));

  for (const entry of wanted.unreadable) {
    problems.push(
      `${client.name} ${role}.sshKeys[${entry}] could not be read, so the keys of ${userName} were not all compared: run sftpctl config validate`,
    );
  }
  if (listed) {
    for (const key of keys.filter((entry) => entry.inConfig === false)) {
      problems.push(
        `user ${userName} has a key not in the config: ${key.fingerprint}${key.importedAt ? ` (imported ${key.importedAt.slice(0, 10)})` : ''}`,
      );
    }
    const present = new Set(onServer.map((key) => key.fingerprint));
    for (const fingerprint of listed) {
      if (!present.has(fingerprint))
        problems.push(`config key ${fingerprint} of ${userName} is not ${where} (run sftpctl deploy)`);
    }
  } else if (onServer.length !== wanted.count) {
    problems.push(`user ${userName} has ${onServer.length} keys ${where}, the config lists ${wanted.count}`);
  }
  const ended = rotation && Date.parse(rotation.until) <= deps.now.getTime() && keys.some((key) => key.retiring);
  if (ended && keys.some((key) => key.retiring && key.expiresAt)) {
    problems.push(
      `the key rotation of ${userName} ended on ${rotation.until.slice(0, 10)}: the retiring key no longer logs in; tidy up with sftpctl keys rotate ${client.name} --ssh ${role} --finish`,
    );
  } else if (ended) {
    problems.push(
      `the key rotation of ${userName} passed its grace period on ${rotation.until.slice(0, 10)} and the retiring key still logs in: run sftpctl keys rotate ${client.name} --ssh ${role} --finish`,
    );
  }
  return checked<UserState>({ ...base, keys }, problems);
}

async function queueStatus(
  clients: AwsClients,
  target: { client: string; chain: Chain; deadLetterUrl: string },
): Promise<Checked<QueueState>> {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  const what = `the ${target.chain} dead-letter queue of ${target.client}`;
  try {
    const { Attributes } = await (await clients.sqs()).send(
      new GetQueueAttributesCommand({
        QueueUrl: target.deadLetterUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    const depth = Number(Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
    if (!Number.isFinite(depth)) {
      return checked<QueueState>({ ...target, depth: UNKNOWN }, [
        `could not read ${what}: SQS returned no message count`,
      ]);
    }
    return checked<QueueState>(
      { ...target, depth },
      depth > 0
        ? [
            `${what} holds ${depth} message${depth === 1 ? '' : 's'}: events that failed processing (see the ${target.chain} function's logs)`,
          ]
        : [],
    );
  } catch (error) {
    return checked<QueueState>({ ...target, depth: UNKNOWN }, [`could not read ${what}: ${reason(error)}`]);
  }
}

/** Errors of up to 500 functions in one GetMetricData request (paged): Sum, hourly, over the last 24 hours. */
async function functionErrorsOf(
  clients: AwsClients,
  targets: { client: string; chain: Chain; functionName: string }[],
  now: Date,
): Promise<Checked<FunctionErrorsState>[]> {
  const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
  const unknown = (target: (typeof targets)[number], why: string) =>
    checked<FunctionErrorsState>({ ...target, errors: UNKNOWN }, [
      `could not read the errors of ${target.functionName}: ${why}`,
    ]);
  const sums = new Map<string, number>();
  const failed = new Map<string, string>();
  try {
    const cloudWatch = await clients.cloudWatch();
    let token: string | undefined;
    do {
      const page = await cloudWatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: targets.map((target, index) => ({
            Id: `e${index}`,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/Lambda',
                MetricName: 'Errors',
                Dimensions: [{ Name: 'FunctionName', Value: target.functionName }],
              },
              Period: 3600,
              Stat: 'Sum',
            },
            ReturnData: true,
          })),
          StartTime: new Date(now.getTime() - ERROR_WINDOW_HOURS * HOUR_MS),
          EndTime: now,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        if (!result.Id) continue;
        if (result.StatusCode === 'InternalError' || result.StatusCode === 'Forbidden') {
          failed.set(result.Id, `CloudWatch answered ${result.StatusCode}`);
          continue;
        }
        const sum = (result.Values ?? []).reduce((total, value) => total + value, 0);
        sums.set(result.Id, (sums.get(result.Id) ?? 0) + sum);
      }
      token = page.NextToken;
    } while (token);
  } catch (error) {
    return targets.map((target) => unknown(target, reason(error)));
  }
  return targets.map((target, index) => {
    const failure = failed.get(`e${index}`);
    if (failure) return unknown(target, failure);
    const errors = sums.get(`e${index}`) ?? 0;
    return checked<FunctionErrorsState>(
      { ...target, errors },
      errors > 0
        ? [
            `function ${target.functionName} (${target.client} ${target.chain}) had ${errors} error${errors === 1 ? '' : 's'} in the last ${ERROR_WINDOW_HOURS} h`,
          ]
        : [],
    );
  });
}

/**
 * The environment's alarms in state ALARM (every sftpctl alarm name starts with `<project>-<env>-`), paged. Each is a
 * problem: it has already notified the alarm topic, and status says what it is about.
 */
async function openAlarms(
  clients: AwsClients,
  prefix: string,
  clientNames: string[],
  names: { project: string; env: string },
): Promise<Checked<AlarmState[]>> {
  const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
  const found: AlarmState[] = [];
  try {
    const cloudWatch = await clients.cloudWatch();
    let token: string | undefined;
    do {
      const page = await cloudWatch.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: prefix,
          StateValue: 'ALARM',
          AlarmTypes: ['MetricAlarm'],
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const alarm of page?.MetricAlarms ?? []) {
        if (!alarm.AlarmName) continue;
        const client = clientNames
          .filter((name) => alarm.AlarmName!.startsWith(`${clientStackName(names.project, names.env, name)}-`))
          .sort((a, b) => b.length - a.length)[0];
        found.push({
          name: alarm.AlarmName,
          ...(client ? { client } : {}),
          ...(alarm.AlarmDescription ? { description: alarm.AlarmDescription } : {}),
          reason: alarm.StateReason ?? '',
          ...(alarm.StateUpdatedTimestamp ? { since: alarm.StateUpdatedTimestamp.toISOString() } : {}),
        });
      }
      token = page?.NextToken;
    } while (token);
  } catch (error) {
    return { item: [], problems: [`could not read the alarms: ${reason(error)}`] };
  }
  return {
    item: found,
    problems: found.map(
      (alarm) =>
        `alarm ${alarm.name} is firing${alarm.since ? ` since ${alarm.since}` : ''}: ${alarm.description ?? alarm.reason}`,
    ),
  };
}

/** An SDK error as `Name: message` (the name carries AccessDenied, QueueDoesNotExist, …). */
function reason(error: unknown): string {
  if (error instanceof SftpctlError) return error.message;
  if (!(error instanceof Error)) return String(error);
  const name = error.name && error.name !== 'Error' ? error.name : undefined;
  return name && !error.message.startsWith(name) ? `${name}: ${error.message}` : error.message || name || 'failed';
}
