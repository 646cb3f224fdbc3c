import { removeClientFromDocument } from '../core/config/edit.js';
import { SftpctlError } from '../core/errors.js';
import { editConfigFile } from '../io/config-edit.js';
import { loadConfig } from '../io/config-file.js';
import { isPromptCancel } from './answer-checks.js';
import { type CommandContext, requireInteractive } from './context.js';

export async function clientRemove(name: string, context: CommandContext): Promise<number> {
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  if (!config.clients.some((client) => client.name === name)) {
    const known = config.clients.map((client) => client.name);
    throw new SftpctlError(
      'CLIENT_NOT_FOUND',
      `There is no client "${name}" in ${file.displayPath}.`,
      known.length > 0 ? `Clients: ${known.join(', ')}.` : 'The config has no clients.',
    );
  }
  if (!context.globals.yes) {
    requireInteractive(context, `Removing client "${name}" needs confirmation`, '--yes');
    let sure: boolean;
    try {
      sure = await context.prompter.confirm({
        name: 'confirm',
        message: `Remove client ${name} from ${file.displayPath}?`,
        default: false,
      });
    } catch (error) {
      if (!isPromptCancel(error)) throw error;
      context.output.info(`Cancelled: nothing was changed; ${file.displayPath} still has client ${name}.`);
      return 130;
    }
    if (!sure) {
      context.output.line('Nothing was changed.');
      return 0;
    }
  }
  await editConfigFile(file, (document) => {
    removeClientFromDocument(document, name);
  });
  context.output.data({ removed: name, file: file.displayPath });
  context.output.success(
    `Removed client ${name} from ${file.displayPath}. Nothing in AWS was changed; its key files were left where they are.`,
  );
  return 0;
}
