import { dirname, join, relative, resolve } from 'node:path';
import { identityTableError, openIdentityTable } from '../aws/identity-table.js';
import { findServerId } from '../aws/transfer-keys.js';
import { generateSshKeyPair } from '../core/crypto/ssh-keygen.js';
import { parseSshPublicKey } from '../core/crypto/ssh-public-key.js';
import { parseDuration } from '../core/duration.js';
import { SftpctlError, UsageError } from '../core/errors.js';
import { loadConfig } from '../io/config-file.js';
import { readTextIfExists } from '../io/files.js';
import { writeKeyPair } from '../io/key-files.js';
import { finishTableRotation, startTableRotation } from '../workflows/identity-rotation.js';
import { finishPgpRotation, startPgpRotation } from '../workflows/pgp-rotation.js';
import { finishSshRotation, type Role, type SshRotationStep, startSshRotation } from '../workflows/ssh-rotation.js';
import { type AwsFlags, clientInAws } from './aws-context.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

export interface KeysRotateOptions extends AwsFlags {
  ssh?: string;
  pgp?: boolean;
  publicKey?: string;
  generate?: boolean;
  grace: string;
  finish?: boolean;
  force?: boolean;
  serverId?: string;
}

export async function keysRotate(
  clientName: string,
  options: KeysRotateOptions,
  context: CommandContext,
): Promise<number> {
  if (Boolean(options.ssh) === Boolean(options.pgp))
    throw new UsageError(
      'INVALID_FLAG',
      'Say what to rotate: --ssh upload|download|all, or --pgp.',
      'One of them, not both.',
    );
  if (options.ssh) roleOf(options.ssh === 'all' ? 'upload' : options.ssh);
  if (options.force && !options.finish)
    throw new UsageError('INVALID_FLAG', '--force only goes with --finish.', 'Add --finish, or drop --force.');
  if (options.ssh && !options.finish && Boolean(options.publicKey) === Boolean(options.generate))
    throw new UsageError(
      'INVALID_FLAG',
      "--ssh needs the new key: --public-key <file> (the partner's new .pub), or --generate (a test pair).",
      'Give one of them (or --finish to end a rotation).',
    );
  const graceSeconds = parseDuration(options.grace, '--grace');
  const { file, config, keys } = await loadConfig(context.globals.config, { cwd: context.cwd });
  // The partner's new key is read and judged before any AWS call: a bad file fails here, with nothing changed.
  const givenKey = options.publicKey
    ? await readNewPublicKey(options.publicKey, context, dirname(file.path))
    : undefined;
  const { env, client, clients } = await clientInAws(config, clientName, options, context);
  const now = new Date();
  const { output } = context;

  if (options.pgp) {
    const pgpContext = {
      file,
      config,
      client,
      env: env.name,
      clients,
      now,
      passphrase: (path: string) => readPassphrase(context, `for ${path}`, { confirm: false }),
    };
    if (options.finish) {
      const result = await finishPgpRotation(pgpContext, Boolean(options.force));
      output.data({ finished: 'pgp', ...result });
      output.success(`Rotation finished: ${result.secret} now holds only the current key.`);
      output.line(
        `  The retired private key file(s) were left in place: ${result.retired.join(', ')} — archive or destroy them.`,
      );
      return 0;
    }
    const result = await startPgpRotation(pgpContext, graceSeconds);
    output.data({ started: 'pgp', ...result });
    output.success(
      `New ingress key ${result.fingerprint}; ${result.secret} holds it and the old one (${result.keysInSecret} keys).`,
    );
    output.line(
      `  Hand ${result.publicKey} to the partner. Uploads encrypted to the old key keep decrypting until --finish.`,
    );
    return 0;
  }

  const roles: Role[] =
    options.ssh === 'all'
      ? (['upload', 'download'] as const).filter((role) => client[role] != null)
      : [roleOf(options.ssh!)];
  if (env.identity.mode === 'lambda') {
    if (options.serverId)
      throw new UsageError(
        'INVALID_FLAG',
        `--server-id: environment ${env.name} uses the lambda identity mode; its keys live in the user table, not on the server.`,
        'Drop --server-id.',
      );
    const store = await openIdentityTable(clients, config.project, env.name);
    const steps: SshRotationStep[] = [];
    try {
      for (const role of roles) {
        const tableContext = { store, now, ...(await reload(context, client.name)) };
        steps.push(
          ...(options.finish
            ? await finishTableRotation(tableContext, role, Boolean(options.force))
            : await startTableRotation(
                tableContext,
                role,
                givenKey ?? (await newSshKey(context, dirname(file.path), client.name, role)),
                graceSeconds,
              )),
        );
      }
    } catch (error) {
      throw identityTableError(error, store.tableName, env.name);
    }
    reportSshSteps(context, { table: store.tableName, steps }, client.name, options);
    return 0;
  }
  const serverId = options.serverId ?? (await findServerId(clients, config.project, env.name));
  const sshContext = { file, config, keys: keys!, client, clients, serverId, now };
  const steps: SshRotationStep[] = [];
  for (const role of roles) {
    if (options.finish) {
      steps.push(
        ...(await finishSshRotation(
          { ...sshContext, ...(await reload(context, client.name)) },
          role,
          Boolean(options.force),
        )),
      );
      continue;
    }
    const newKey = givenKey ?? (await newSshKey(context, dirname(file.path), client.name, role));
    steps.push(
      ...(await startSshRotation(
        { ...sshContext, ...(await reload(context, client.name)) },
        role,
        newKey,
        graceSeconds,
      )),
    );
  }
  reportSshSteps(context, { serverId, steps }, client.name, options);
  return 0;
}

function reportSshSteps(
  context: CommandContext,
  data: { serverId?: string; table?: string; steps: SshRotationStep[] },
  clientName: string,
  options: KeysRotateOptions,
): void {
  const { output } = context;
  output.data(data);
  for (const step of data.steps)
    output.success(`${step.userName}: ${step.action.replace(/-/g, ' ')} ${step.fingerprint}`);
  if (!options.finish)
    output.line(
      data.table
        ? `  Both keys log in until the grace period ends, when the identity function stops taking the old one; then tidy up: sftpctl keys rotate ${clientName} --ssh ${options.ssh} --finish`
        : `  Both keys log in until the grace period ends; then run: sftpctl keys rotate ${clientName} --ssh ${options.ssh} --finish`,
    );
}

/** Re-reads the config (after an earlier role's edit) so each step starts from what is on disk. */
async function reload(context: CommandContext, clientName: string) {
  const { file, config, keys } = await loadConfig(context.globals.config, { cwd: context.cwd });
  return { file, config, keys: keys!, client: config.clients.find((entry) => entry.name === clientName)! };
}

function roleOf(value: string): Role {
  if (value === 'upload' || value === 'download') return value;
  throw new UsageError(
    'INVALID_FLAG',
    `--ssh: "${value}" is not a user.`,
    'Use --ssh upload, --ssh download or --ssh all.',
  );
}

async function readNewPublicKey(given: string, context: CommandContext, configDir: string) {
  const path = resolve(context.cwd, given);
  const text = await readTextIfExists(path);
  if (text === undefined)
    throw new UsageError(
      'FILE_NOT_FOUND',
      `--public-key: ${given} does not exist.`,
      'Give the path of the new .pub file. Nothing was changed.',
    );
  const parsed = parseSshPublicKey(text.trim());
  if (!parsed.ok)
    throw new SftpctlError(
      parsed.code,
      `--public-key ${given}: ${parsed.message}`,
      `${parsed.hint} Nothing was changed.`,
      {
        kind: 'usage',
      },
    );
  return { entry: relative(configDir, path), key: parsed.key };
}

async function newSshKey(context: CommandContext, configDir: string, client: string, role: Role) {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  const privatePath = join(configDir, 'keys', client, `${role}-${stamp}`);
  const pair = await generateSshKeyPair({ type: 'ed25519', comment: `${client}-${role}@sftpctl-test` });
  await writeKeyPair({ privatePath, publicPath: `${privatePath}.pub` }, pair);
  context.output.line(`  generated ${relative(configDir, privatePath)} (+ .pub) for testing`);
  return { entry: relative(configDir, `${privatePath}.pub`), key: pair.info };
}
