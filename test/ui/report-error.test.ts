import { CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SftpctlError, UsageError } from '../../src/core/errors.js';
import { reportError } from '../../src/ui/report-error.js';

function capture() {
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  return {
    stderr: () => stderr.mock.calls.map((call) => String(call[0])).join(''),
    stdout: () => stdout.mock.calls.map((call) => String(call[0])).join(''),
  };
}

afterEach(() => vi.restoreAllMocks());

describe('reportError decides exit codes and what is printed', () => {
  it('user error: 1, message and hint, no stack', () => {
    const out = capture();
    expect(
      reportError(new SftpctlError('X_BAD', 'The thing is bad.', 'Do the other thing.'), { json: false, debug: false }),
    ).toBe(1);
    expect(out.stderr()).toMatch(/error \[X_BAD\] The thing is bad\.\nhint Do the other thing\./);
    expect(out.stderr()).not.toMatch(/\n\s+at /);
  });

  it('usage error: 2', () => {
    capture();
    expect(reportError(new UsageError('FLAG', 'bad flag'), { json: false, debug: false })).toBe(2);
    expect(reportError(new CommanderError(1, 'commander.unknownOption', 'x'), { json: false, debug: false })).toBe(2);
    expect(reportError(new CommanderError(0, 'commander.helpDisplayed', 'x'), { json: false, debug: false })).toBe(0);
  });

  it('internal error: 3, asks for a report, stack only with --debug', () => {
    const quiet = capture();
    expect(reportError(new TypeError('boom'), { json: false, debug: false })).toBe(3);
    expect(quiet.stderr()).toMatch(/internal error boom\nThis is a bug in sftpctl.*Please report it/);
    expect(quiet.stderr()).not.toMatch(/at .*report-error/);
    vi.restoreAllMocks();
    const loud = capture();
    expect(reportError(new TypeError('boom'), { json: false, debug: true })).toBe(3);
    expect(loud.stderr()).toMatch(/TypeError: boom\n\s+at /);
  });

  it('--json: the error as a JSON object on stdout', () => {
    const out = capture();
    reportError(new SftpctlError('X_BAD', 'bad', 'fix', { details: ['a.yaml:1:1 x'] }), { json: true, debug: false });
    expect(JSON.parse(out.stdout())).toEqual({
      error: { code: 'X_BAD', message: 'bad', hint: 'fix', details: ['a.yaml:1:1 x'] },
    });
  });

  it('a cancelled prompt: 130, nothing written', () => {
    const out = capture();
    const cancelled = Object.assign(new Error('User force closed the prompt'), { name: 'ExitPromptError' });
    expect(reportError(cancelled, { json: false, debug: false })).toBe(130);
    expect(out.stderr()).toMatch(/Cancelled at a prompt \(Ctrl\+C\): nothing was written after the question/);
    expect(out.stderr()).not.toMatch(/change set|stack/i);
  });

  it('an error AWS answered is a user error in its own words, not a bug report', () => {
    const out = capture();
    const denied = Object.assign(
      new Error('User: arn:aws:iam::111122223333:user/ci is not authorized to perform: s3:ListBucketVersions'),
      {
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403, requestId: 'R1' },
      },
    );
    expect(reportError(denied, { json: false, debug: false })).toBe(1);
    expect(out.stderr()).toMatch(
      /error \[AWS_ACCESS_DENIED\] AWS refused a call: AccessDenied: User: .* \(request R1\)\nhint Check that these credentials may make this call/,
    );
    expect(out.stderr()).not.toContain('bug in sftpctl');
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect(reportError(throttled, { json: false, debug: false })).toBe(1);
    expect(out.stderr()).toMatch(/\[AWS_THROTTLING\].*\nhint AWS was busy/);
  });

  it('no answer from AWS is not AWS refusing: credentials, network, and plain bugs each say what they are', () => {
    const out = capture();
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
      $metadata: { attempts: 1 },
    });
    expect(reportError(noCredentials, { json: false, debug: false })).toBe(1);
    expect(out.stderr()).toMatch(/\[AWS_CREDENTIALS\].*\nhint Sign in/);
    const offline = Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-west-2.amazonaws.com'), {
      code: 'ENOTFOUND',
      $metadata: { attempts: 3 },
    });
    const before = out.stderr().length;
    expect(reportError(offline, { json: false, debug: false })).toBe(1);
    expect(out.stderr().slice(before)).toMatch(
      /\[NETWORK\] Could not reach endpoint cloudformation\.eu-west-2\.amazonaws\.com, region eu-west-2: the host name does not resolve/,
    );
    expect(out.stderr().slice(before)).not.toMatch(/Sign in/);
    const bug = Object.assign(new TypeError('x is undefined'), { $metadata: { attempts: 1 } });
    expect(reportError(bug, { json: false, debug: false })).toBe(3);
  });
});
