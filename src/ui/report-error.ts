import { CommanderError } from 'commander';
import { isSftpctlError } from '../core/errors.js';
import { printError } from './errors.js';

/** Prints any error the way the CLI promises and returns the exit code: 1 user, 2 usage, 3 internal, 130 cancelled. */
export function reportError(error: unknown, options: { json: boolean; debug: boolean }): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
      ? 0
      : 2;
  }
  if (error instanceof Error && error.name === 'ExitPromptError') {
    process.stderr.write('Cancelled. Nothing was written.\n');
    return 130;
  }
  printError(error, options);
  if (!isSftpctlError(error)) return 3;
  return error.kind === 'usage' ? 2 : error.kind === 'internal' ? 3 : 1;
}
