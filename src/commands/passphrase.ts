import { UsageError } from '../core/errors.js';
import type { CommandContext } from './context.js';

/** Where passphrases come from when nobody is at a terminal. Never a flag: flags end up in shell history and `ps`. */
export const PASSPHRASE_ENV = 'SFTPCTL_PASSPHRASE';

/**
 * A passphrase from $SFTPCTL_PASSPHRASE, or asked (hidden) at the terminal — twice when creating a key.
 * Without either it fails naming the variable.
 */
export async function readPassphrase(
  context: CommandContext,
  purpose: string,
  options: { confirm: boolean },
): Promise<string> {
  const fromEnv = process.env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!context.interactive) {
    throw new UsageError(
      'PASSPHRASE_REQUIRED',
      `A passphrase is needed ${purpose}, and there is no terminal to ask on.`,
      `Set ${PASSPHRASE_ENV} in the environment.`,
    );
  }
  const first = await context.prompter.password({
    name: 'passphrase',
    message: `Passphrase ${purpose}`,
    validate: (value) =>
      options.confirm && value.length < 8
        ? 'Use at least 8 characters.'
        : value === ''
          ? 'The passphrase is empty.'
          : true,
  });
  if (options.confirm) {
    const again = await context.prompter.password({ name: 'passphraseAgain', message: 'The same passphrase again' });
    if (again !== first)
      throw new UsageError(
        'PASSPHRASE_MISMATCH',
        'The two passphrases differ; nothing was written.',
        'Run the command again.',
      );
  }
  return first;
}
