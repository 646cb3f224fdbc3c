import { DEFAULT_TEMPORARY_NAMES, QUARANTINE_PREFIX } from './types.js';

const compiled = new Map<string, RegExp>();

/** A name pattern (`*` any run of characters, `?` one, within the last path segment) as a regular expression. */
function patternOf(glob: string): RegExp {
  let regex = compiled.get(glob);
  if (!regex) {
    const body = glob
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${body}$`, 's');
    compiled.set(glob, regex);
  }
  return regex;
}

/**
 * True for the names clients upload to before renaming to the final name (WinSCP's `x.filepart`, `x.part`, `x.tmp`,
 * `x~`): such an object is not a partner file yet and is never processed; the rename produces the event that counts.
 */
export function isTemporaryName(key: string, patterns: readonly string[] = DEFAULT_TEMPORARY_NAMES): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return patterns.some((pattern) => patternOf(pattern).test(name));
}

/** Keys of the platform's own records (quarantine), never partner files. */
export function isReservedKey(key: string): boolean {
  return key.startsWith(QUARANTINE_PREFIX);
}

/** The key of the quarantine record of an upload. */
export function quarantineRecordKey(key: string): string {
  return `${QUARANTINE_PREFIX}${key}.json`;
}
