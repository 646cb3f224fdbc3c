import { summarizeClient } from '../core/config/summary.js';
import { SftpctlError } from '../core/errors.js';
import { loadConfig } from '../io/config-file.js';
import type { CommandContext } from './context.js';

export async function clientShow(name: string, context: CommandContext): Promise<number> {
  const { config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const client = config.clients.find((entry) => entry.name === name);
  if (!client) {
    const known = config.clients.map((entry) => entry.name);
    throw new SftpctlError(
      'CLIENT_NOT_FOUND',
      `There is no client "${name}".`,
      known.length > 0 ? `Clients: ${known.join(', ')}.` : 'The config has no clients.',
    );
  }
  const summary = summarizeClient(config, client);
  const { output } = context;
  output.data(summary);
  const c = output.colors;
  const row = (label: string, value: string) => output.line(`  ${c.dim(label.padEnd(20))} ${value}`);
  output.line(c.bold(summary.name));
  row('environments', summary.environments.join(', '));
  row('allowed IPs', summary.allowAnyIp ? 'any (allowAnyIp: true)' : summary.allowedIps.join(', ') || c.yellow('none'));
  row('upload user', summary.users.upload ? `${summary.users.upload} (${summary.sshKeyCount.upload} SSH key(s))` : '-');
  row(
    'download user',
    summary.users.download ? `${summary.users.download} (${summary.sshKeyCount.download} SSH key(s))` : '-',
  );
  row('encrypted ext.', `${summary.encryptedExtensions.join(', ')} (egress: .${summary.egressExtension})`);
  row('plain uploads', summary.requireEncryption ? 'quarantined' : 'copied through');
  row('checksum', summary.checksum);
  row('function memory', `${summary.memory} MB`);
  row('ingress PGP key', summary.pgp.ingressPublicKey ?? c.yellow('not set'));
  row('partner PGP key', summary.pgp.partnerPublicKey ?? (summary.users.download ? c.yellow('not set') : '-'));
  for (const rotation of summary.rotations) {
    const over = Date.parse(rotation.until) <= Date.now();
    row(
      rotation.kind === 'ssh' ? `rotating ${rotation.user}` : 'rotating ingress key',
      `since ${rotation.since}, grace ${over ? c.yellow(`ended ${rotation.until}: run keys rotate --finish`) : `until ${rotation.until}`}; retiring ${rotation.retiring.join(', ')}`,
    );
  }
  for (const [env, resources] of Object.entries(summary.resources)) {
    output.line();
    output.line(`  ${c.bold(env)}: stack ${resources.stack}`);
    for (const [purpose, bucket] of Object.entries(resources.buckets)) row(`${purpose} bucket`, bucket);
    row('ingress secret', resources.secrets.ingressPrivateKeys);
    row('partner key secret', resources.secrets.partnerPublicKey);
  }
  return 0;
}
