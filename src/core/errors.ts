/**
 * The one error type the CLI knows how to explain. `code` is stable (scripts and docs may rely on it),
 * `message` says what happened, `hint` says what to do next.
 */
export type ErrorKind = 'user' | 'usage' | 'internal' | 'cancelled';

export class SftpctlError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly kind: ErrorKind;
  readonly details: readonly string[];

  constructor(
    code: string,
    message: string,
    hint?: string,
    options: { kind?: ErrorKind; details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SftpctlError';
    this.code = code;
    this.hint = hint;
    this.kind = options.kind ?? 'user';
    this.details = options.details ?? [];
  }
}

/** Wrong flags or arguments: exit code 2. */
export class UsageError extends SftpctlError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, hint, { kind: 'usage' });
    this.name = 'UsageError';
  }
}

/** The person stopped the command (Ctrl+C): exit 130, and the message says what was and was not written. */
export class CancelledError extends SftpctlError {
  constructor(message: string, hint?: string) {
    super('CANCELLED', message, hint, { kind: 'cancelled' });
    this.name = 'CancelledError';
  }
}

/** The config file cannot be used; `details` lists every problem found with its location. */
export class ConfigError extends SftpctlError {
  constructor(message: string, details: readonly string[], hint?: string) {
    super('CONFIG_INVALID', message, hint ?? 'Fix the problems listed above, then run `sftpctl config validate`.', {
      details,
    });
    this.name = 'ConfigError';
  }
}

export function isSftpctlError(error: unknown): error is SftpctlError {
  return error instanceof SftpctlError;
}
