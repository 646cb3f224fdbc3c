import { summarizeClient } from '../core/config/summary.js';
import { loadConfig } from '../io/config-file.js';
import { renderTable } from '../ui/table.js';
import type { CommandContext } from './context.js';

export async function clientList(context: CommandContext): Promise<number> {
  const { config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const env = context.globals.env;
  const clients = config.clients
    .map((client) => summarizeClient(config, client))
    .filter((client) => env === undefined || client.environments.includes(env));
  context.output.data(clients);
  if (clients.length === 0) {
    context.output.line(
      env ? `No clients in environment ${env}.` : 'No clients yet: add one with `sftpctl client add <name>`.',
    );
    return 0;
  }
  context.output.line(
    renderTable(
      ['client', 'environments', 'upload user', 'download user', 'allowed IPs', 'extensions', 'checksum'],
      clients.map((client) => [
        client.name,
        client.environments.join(','),
        client.users.upload ?? '-',
        client.users.download ?? '-',
        client.allowAnyIp ? 'any' : client.allowedIps.join(' ') || '-',
        client.encryptedExtensions.join(','),
        client.checksum,
      ]),
      { width: context.output.width },
    ),
  );
  return 0;
}
