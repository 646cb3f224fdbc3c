import { CommanderError } from 'commander';
import { isSftpctlError, SftpctlError } from '../core/errors.js';
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
    process.stderr.write('Cancelled at a prompt: nothing after this question was done.\n');
    return 130;
  }
  const aws = awsServiceError(error);
  if (aws) error = aws;
  printError(error, options);
  if (!isSftpctlError(error)) return 3;
  return error.kind === 'usage' ? 2 : error.kind === 'internal' ? 3 : 1;
}

/**
 * An error AWS answered (it carries the SDK's `$metadata`) is not a bug in sftpctl: it is reported as a user error
 * with AWS's own words, and what to check.
 */
function awsServiceError(error: unknown): SftpctlError | undefined {
  if (!(error instanceof Error) || isSftpctlError(error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata;
  if (!metadata || typeof metadata !== 'object') return undefined;
  const fault = (error as { $fault?: string }).$fault;
  const throttled = /Throttl|TooManyRequests|RequestLimitExceeded/.test(error.name);
  const request = metadata.requestId ? ` (request ${metadata.requestId})` : '';
  return new SftpctlError(
    `AWS_${error.name
      .replace(/Exception$/, '')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .toUpperCase()}`,
    `AWS refused a call: ${error.name}: ${error.message}${request}`,
    throttled || fault === 'server'
      ? 'AWS was busy or failing; run the command again in a moment. Stack operations already started carry on (sftpctl status).'
      : 'Check that these credentials may make this call (IAM policy, SCPs, bucket and key policies), the region and the names. sftpctl status shows where things stand.',
    { cause: error },
  );
}
