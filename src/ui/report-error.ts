import { CommanderError } from 'commander';
import { describeAwsError } from '../aws/errors.js';
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
    // A prompt interrupted with Ctrl+C. Commands ask before they change anything; a deploy asks between waves, and
    // the waves before the question are done (sftpctl status shows them).
    process.stderr.write(
      'Cancelled at a prompt. What was done before the question stays done; change sets prepared for it may remain (sftpctl status shows the stacks).\n',
    );
    return 130;
  }
  const aws = describeAwsError(error);
  if (aws) error = aws;
  printError(error, options);
  if (!isSftpctlError(error)) return 3;
  return error.kind === 'usage' ? 2 : error.kind === 'internal' ? 3 : 1;
}
