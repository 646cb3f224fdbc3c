import { isSftpctlError, SftpctlError } from '../core/errors.js';
import { describeFileSystemFault, describeNetworkFault } from '../core/faults.js';

/**
 * An AWS SDK error as what it is for the operator — AWS's answer, missing credentials, or no route to AWS — rather than
 * "a bug in sftpctl". Undefined for anything else (a real bug stays one).
 */
export function describeAwsError(error: unknown, context: { region?: string } = {}): SftpctlError | undefined {
  if (!(error instanceof Error) || isSftpctlError(error)) return undefined;
  // A credential provider that could not reach its endpoint (STS, SSO, IMDS) is a network fault, not a sign-in one.
  const network = describeNetworkFault(error, context);
  if (network) return network;
  if (error.name === 'CredentialsProviderError' || /ExpiredToken|TokenRefreshRequired|SSOToken/i.test(error.name)) {
    return new SftpctlError(
      'AWS_CREDENTIALS',
      `No usable AWS credentials: ${error.message}`,
      'Sign in (aws sso login, or set AWS_PROFILE / --profile) and run it again.',
      { cause: error },
    );
  }
  // The SDK's retry layer puts $metadata on every error; only a response with a status and a fault is AWS's answer.
  const metadata = (error as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata;
  const fault = (error as { $fault?: string }).$fault;
  if (typeof metadata?.httpStatusCode !== 'number' || (fault !== 'client' && fault !== 'server')) return undefined;
  const throttled = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/.test(error.name);
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

/** Every fault that is not a bug — file system, network, AWS's answer, credentials — as a user error; else undefined. */
export function describeKnownFault(error: unknown, context: { region?: string } = {}): SftpctlError | undefined {
  if (isSftpctlError(error)) return error;
  return describeFileSystemFault(error) ?? describeAwsError(error, context);
}
