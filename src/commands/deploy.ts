import { UsageError } from '../core/errors.js';
import { deployEnvironment } from '../deploy/deploy.js';
import { type EngineOverrides, realEngineDeps } from '../deploy/engine-deps.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { withDeployProgress } from '../ui/deploy-progress.js';
import { renderStackResults } from '../ui/deploy-summary.js';
import { printProblems } from '../ui/problems.js';
import { type AwsFlags, environmentInAws } from './aws-context.js';
import type { CommandContext } from './context.js';

export interface DeployOptions extends AwsFlags {
  client?: string[];
  roleArn?: string;
  concurrency?: string;
  allowReplacement?: string[];
  /** Print the IAM policy the deploy needs instead of deploying (`true` is the caller's). */
  printPolicy?: boolean | 'caller' | 'service-role';
}

/** Parses --concurrency: parallel client stacks, 1–16 (CloudFormation throttles beyond that). */
export function parseConcurrency(value: string | undefined): number {
  if (value === undefined) return 4;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 16)
    throw new UsageError(
      'INVALID_FLAG',
      `--concurrency: "${value}" is not a whole number from 1 to 16.`,
      'Use e.g. --concurrency 4.',
    );
  return number;
}

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** Checks --role-arn: an IAM role ARN, and of this account (a role cannot be passed to another account's stacks). */
export function parseRoleArn(value: string | undefined): { roleArn?: string } {
  if (value === undefined) return {};
  if (!ROLE_ARN.test(value))
    throw new UsageError(
      'INVALID_FLAG',
      `--role-arn: "${value}" is not an IAM role ARN.`,
      'Use the ARN of the CloudFormation service role, like arn:aws:iam::123456789012:role/sftpctl-deploy.',
    );
  return { roleArn: value };
}

/** After STS: the service role must belong to the account being deployed to. */
export function checkRoleAccount(role: { roleArn?: string }, account: string): void {
  const roleAccount = role.roleArn ? ROLE_ARN.exec(role.roleArn)?.[1] : undefined;
  if (roleAccount && roleAccount !== account)
    throw new UsageError(
      'INVALID_FLAG',
      `--role-arn: the role is in account ${roleAccount}, but these stacks are in account ${account}.`,
      "CloudFormation can only use a service role of the stack's own account. Nothing was changed.",
    );
}

/** Answers yes under --yes; otherwise asks, or fails naming --yes when nobody can be asked. */
export function confirmer(context: CommandContext): (message: string) => Promise<boolean> {
  if (context.globals.yes) return async () => true;
  return (message) => context.prompter.confirm({ name: 'confirm', message, default: false });
}

export function requireConfirmation(context: CommandContext, what: string): void {
  if (!context.globals.yes && !context.interactive)
    throw new UsageError(
      'INPUT_REQUIRED',
      `${what} asks for confirmation, and there is no terminal to ask on.`,
      'Pass --yes to confirm in advance (run sftpctl diff first to see the changes).',
    );
}

export async function deploy(
  options: DeployOptions,
  context: CommandContext,
  testing: EngineOverrides = {},
): Promise<number> {
  const concurrency = parseConcurrency(options.concurrency);
  const role = parseRoleArn(options.roleArn);
  if (options.printPolicy) return printPolicy(options, role, context);
  // A deploy needs the SSH public keys (to reconcile users), never the PGP private keys (`secrets load` does).
  const { config, keys, warnings } = await loadConfig(context.globals.config, {
    cwd: context.cwd,
    checkKeys: true,
    privateKeysElsewhere: true,
  });
  const envName = environmentOf(config, context.globals.env);
  requireConfirmation(context, 'A deploy');
  if (warnings.length > 0) printProblems(context.output, warnings);
  if (!keys) throw new Error('loadConfig with checkKeys returned no key facts');
  const { clients, account } = await environmentInAws(config, options, context, testing.aws);
  checkRoleAccount(role, account);
  const deps = { ...realEngineDeps(clients), ...role, ...testing.deps };
  const { output } = context;
  const c = output.json ? output.errColors : output.colors;
  output.info(`Deploying ${c.bold(`${config.project}/${envName}`)} to account ${account} in ${clients.target.region}`);
  const outcome = await withDeployProgress(
    output,
    c,
    'Stack operations already started continue in CloudFormation; sftpctl status shows where they are, and running sftpctl deploy again picks up from there. Change sets not yet executed stay for inspection; a later deploy creates new ones.',
    (progress) =>
      deployEnvironment({
        config,
        env: envName,
        keys,
        ...(options.client ? { clients: options.client } : {}),
        concurrency,
        deps,
        progress,
        colors: c,
        confirm: confirmer(context),
        ...(options.allowReplacement ? { allowReplacement: options.allowReplacement } : {}),
      }),
  );
  for (const result of outcome.results) for (const warning of result.keys?.warnings ?? []) output.warn(warning);
  output.line();
  for (const line of renderStackResults(outcome.results, c)) output.line(line);
  output.data(outcome.results);
  const failed = outcome.results.filter((result) => result.action === 'failed' || result.action === 'skipped');
  if (failed.length > 0) {
    output.line(`${failed.length} of ${outcome.results.length} stacks did not deploy.`);
    return 1;
  }
  if (outcome.results.some((result) => result.action === 'cancelled')) {
    output.line('Cancelled: nothing was changed.');
    return 1;
  }
  return 0;
}

/** `deploy --print-policy`: the IAM policy document for this config and environment, on stdout; nothing in AWS. */
async function printPolicy(
  options: DeployOptions,
  role: { roleArn?: string },
  context: CommandContext,
): Promise<number> {
  const { config } = await loadConfig(context.globals.config, { cwd: context.cwd });
  const env = environmentOf(config, context.globals.env);
  const { deployPolicy } = await import('../deploy/deploy-policy.js');
  const policy = deployPolicy({
    config,
    env,
    ...role,
    for: options.printPolicy === 'service-role' ? 'service-role' : 'caller',
  });
  context.output.raw(`${JSON.stringify(policy, null, 2)}\n`);
  return 0;
}
