import { randomBytes } from 'node:crypto';
import { identityTableError, openIdentityTable } from '../aws/identity-table.js';
import { deletePasswordSecret, writePasswordSecret } from '../aws/password-secrets.js';
import { passwordSecretName, platformKeyAlias } from '../core/config/naming.js';
import { requireClient, userNameOf } from '../core/config/resolve.js';
import type { Client, Environment } from '../core/config/schema.js';
import { SftpctlError, UsageError } from '../core/errors.js';
import { hashPassword } from '../core/identity/password.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { type AwsFlags, clientInAws } from './aws-context.js';
import type { CommandContext } from './context.js';

export interface ClientPasswordOptions extends AwsFlags {
  user?: string;
  generate?: boolean;
  remove?: boolean;
}

const MIN_LENGTH = 12;

/**
 * Sets (or with --remove, takes away) the FTPS password of a client's user in an environment in lambda identity
 * mode. Only the scrypt hash leaves this process: into a Secrets Manager secret under the client's KMS key, named in
 * the user's item so the identity function finds it. The password itself is never written or logged; a generated one
 * is shown once.
 */
export async function clientPassword(
  clientName: string,
  options: ClientPasswordOptions,
  context: CommandContext,
): Promise<number> {
  if (options.generate && options.remove)
    throw new UsageError('INVALID_FLAG', '--generate and --remove do not go together.', 'Give one of them.');
  const { config } = await loadConfig(context.globals.config, { cwd: context.cwd });
  const envName = environmentOf(config, context.globals.env);
  const env = config.environments[envName]!;
  const client = requireClient(config, clientName, envName);
  const userName = userOf(client, options.user);
  refuseUnlessFtps(env);
  const secretName = passwordSecretName(config.project, envName, userName);
  const { output } = context;

  // The password is asked (or made) before any AWS call, so a mistyped one changes nothing.
  const password = options.remove ? undefined : options.generate ? generatePassword() : await askPassword(context);
  const { clients } = await clientInAws(config, clientName, options, context);
  const store = await openIdentityTable(clients, config.project, envName);
  try {
    if (!(await store.record(userName)))
      throw new SftpctlError(
        'USER_NOT_DEPLOYED',
        `User ${userName} is not in the user table ${store.tableName}.`,
        'Deploy the client first (sftpctl deploy); nothing was changed.',
      );
    if (password === undefined) {
      // The item stops naming the secret first: from then on the function refuses the password, secret or not.
      await store.setPasswordSecret(userName, undefined);
      const deleted = await deletePasswordSecret(clients, secretName);
      output.data({ client: client.name, user: userName, secret: secretName, removed: true, secretDeleted: deleted });
      output.success(
        deleted
          ? `${userName} has no FTPS password any more (secret ${secretName} deleted).`
          : `${userName} had no FTPS password secret; its item names none.`,
      );
      return 0;
    }
    const hash = await hashPassword(password);
    const { created } = await writePasswordSecret(
      clients,
      {
        name: secretName,
        kmsKeyId: platformKeyAlias(config.project, envName),
        description: `sftpctl: FTPS password hash (scrypt) of ${userName} in ${config.project}/${envName}`,
        tags: { 'sftpctl:project': config.project, 'sftpctl:environment': envName, 'sftpctl:client': client.name },
      },
      hash,
    );
    await store.setPasswordSecret(userName, secretName);
    output.data({
      client: client.name,
      user: userName,
      secret: secretName,
      created,
      ...(options.generate ? { password } : {}),
    });
    output.success(`${userName}: FTPS password ${created ? 'set' : 'replaced'} (its hash is in ${secretName}).`);
    if (options.generate) {
      output.line(`  Password (shown once, hand it to the partner over a separate channel): ${password}`);
    }
    return 0;
  } catch (error) {
    throw identityTableError(error, store.tableName, envName);
  }
}

function userOf(client: Client, given: string | undefined): string {
  if (given !== undefined && given !== 'upload' && given !== 'download')
    throw new UsageError('INVALID_FLAG', `--user: "${given}" is not a user.`, 'Use --user upload or --user download.');
  const role = (given ?? (client.upload ? 'upload' : 'download')) as 'upload' | 'download';
  const userName = userNameOf(client, role);
  if (!userName)
    throw new SftpctlError('USER_NONE', `Client ${client.name} has no ${role} user.`, 'Choose the role it has.', {
      kind: 'usage',
    });
  return userName;
}

function refuseUnlessFtps(env: Environment): void {
  if (env.identity.mode !== 'lambda')
    throw new SftpctlError(
      'IDENTITY_MODE_NOT_LAMBDA',
      `Environment ${env.name} uses service-managed users, which Transfer Family logs in with SSH keys only: FTPS passwords need the lambda identity mode.`,
      `Set environments.${env.name}.identity.mode: lambda (and FTPS in its transfer.protocols), deploy, then set the password. See docs/identity.md.`,
      { kind: 'usage' },
    );
  if (!env.transfer.protocols.includes('FTPS'))
    throw new SftpctlError(
      'FTPS_NOT_ENABLED',
      `Environment ${env.name} does not serve FTPS (transfer.protocols: ${env.transfer.protocols.join(', ')}): a password would log in nowhere.`,
      `Add FTPS to environments.${env.name}.transfer.protocols (with its certificate), deploy, then set the password.`,
      { kind: 'usage' },
    );
}

/** 24 random bytes as base64url: 32 characters, 192 bits. */
function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

async function askPassword(context: CommandContext): Promise<string> {
  if (!context.interactive)
    throw new UsageError(
      'INPUT_REQUIRED',
      'A password is asked at the terminal, and there is none.',
      'Run it at a terminal, or pass --generate for a generated password shown once.',
    );
  const first = await context.prompter.password({
    name: 'password',
    message: 'New FTPS password',
    validate: (value) => (value.length < MIN_LENGTH ? `Use at least ${MIN_LENGTH} characters.` : true),
  });
  const again = await context.prompter.password({ name: 'passwordAgain', message: 'The same password again' });
  if (again !== first)
    throw new UsageError('PASSWORD_MISMATCH', 'The two passwords differ; nothing was changed.', 'Run it again.');
  return first;
}
