import { CommanderError } from 'commander';
import { describeKnownFault } from '../aws/errors.js';
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
    // A prompt interrupted with Ctrl+C. Commands ask before they write anything; one that has more to say (a deploy
    // between waves) catches the interruption itself and throws a CancelledError that says it.
    process.stderr.write('Cancelled at a prompt (Ctrl+C): nothing was written after the question.\n');
    return 130;
  }
  // Below the commands, one classifier: file system and network faults are the user's or the machine's, never a bug.
  error = describeKnownFault(error) ?? error;
  printError(error, options);
  if (!isSftpctlError(error)) return 3;
  return error.kind === 'usage' ? 2 : error.kind === 'internal' ? 3 : error.kind === 'cancelled' ? 130 : 1;
}
