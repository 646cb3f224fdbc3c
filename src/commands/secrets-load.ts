import { dirname } from 'node:path';
import { putSecretValue } from '../aws/secrets.js';
import { secretNames } from '../core/config/naming.js';
import { requireClient } from '../core/config/resolve.js';
import { SftpctlError } from '../core/errors.js';
import { serializeSecret } from '../core/secrets.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { fileReaderAt } from '../io/files.js';
import { buildClientSecrets } from '../workflows/client-secrets.js';
import { type AwsFlags, clientInAws } from './aws-context.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

export interface SecretsLoadOptions extends AwsFlags {
  dryRun?: boolean;
}

/** Validates a client's key files, then writes them to the secrets its stack declares. Never prints key material. */
export async function secretsLoad(
  clientName: string,
  options: SecretsLoadOptions,
  context: CommandContext,
): Promise<number> {
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd });
  const client = requireClient(config, clientName);
  const envName = environmentOf(config, context.globals.env);
  const secrets = await buildClientSecrets(client, fileReaderAt(dirname(file.path)), (path) =>
    readPassphrase(context, `for ${path}`, { confirm: false }),
  );
  const names = secretNames(config.project, envName, client.name);
  const plan = [
    ...(secrets.ingress
      ? [
          {
            secret: names.ingressPrivateKeys,
            value: serializeSecret(secrets.ingress),
            holds: secrets.ingress.keys.map((key) => `${key.role} ${key.fingerprint}`),
          },
        ]
      : []),
    ...(secrets.partner
      ? [
          {
            secret: names.partnerPublicKey,
            value: serializeSecret(secrets.partner),
            holds: [`partner ${secrets.partner.fingerprint}`],
          },
        ]
      : []),
  ];
  if (plan.length === 0)
    throw new SftpctlError(
      'NOTHING_TO_LOAD',
      `Client ${client.name} has no PGP keys configured.`,
      'Set pgp.ingressPrivateKey and/or pgp.partnerPublicKey first.',
    );

  const { output } = context;
  if (options.dryRun) {
    output.data({ dryRun: true, environment: envName, secrets: plan.map(({ secret, holds }) => ({ secret, holds })) });
    output.line(`Would write (environment ${envName}; keys validated, nothing sent):`);
    for (const { secret, holds } of plan) output.line(`  ${secret}  ←  ${holds.join(', ')}`);
    return 0;
  }
  const { clients, account } = await clientInAws(config, clientName, options, context);
  const written = [];
  for (const { secret, value, holds } of plan) {
    written.push({ secret, holds, version: await putSecretValue(clients, secret, value) });
    output.success(`${secret}  ←  ${holds.join(', ')}`);
  }
  output.data({ dryRun: false, environment: envName, account, secrets: written });
  return 0;
}
