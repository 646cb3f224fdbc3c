import { InvalidArgumentError } from 'commander';
import { parseCidr } from '../core/config/cidr.js';
import { regionProblem } from '../core/config/regions.js';
import { parseDuration } from '../core/duration.js';

/** Parsing of flag values shared by commands. */

/** `a, b,,c` → `['a', 'b', 'c']`. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Flag-value checks run by the argument parser, before any command starts: a bad value is refused naming the flag
 * (commander adds "option '--x <v>' argument 'y' is invalid."), with what to give instead. Each returns the value as
 * given, so the command's own parsing stays the one that shapes it.
 */
export type FlagCheck = (value: string, previous?: unknown) => string;

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number, example = String(min)): FlagCheck {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max)
      throw new InvalidArgumentError(`Give a whole number from ${min} to ${max}, like ${example}.`);
    return value;
  };
}

/** A number (fractions allowed) of at least zero. */
export const amount: FlagCheck = (value) => {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0)
    throw new InvalidArgumentError('Give a number of zero or more, like 10 or 2.5.');
  return value;
};

/** An AWS region of any partition, known offline. */
export const region: FlagCheck = (value) => {
  const problem = regionProblem(value);
  if (problem) throw new InvalidArgumentError(`${problem.message}. ${problem.hint}`);
  return value;
};

/** IPv4 addresses or CIDRs without host bits, comma-separated or repeated: the values collect into one list. */
export const cidrList = (value: string, previous: string[] = []): string[] => {
  for (const item of splitList(value)) {
    const parsed = parseCidr(item);
    if (!parsed.ok) throw new InvalidArgumentError(`"${item}" ${parsed.reason}; give an address like 203.0.113.10.`);
    if (parsed.hostBitsSet)
      throw new InvalidArgumentError(`"${item}" has host bits set; did you mean ${parsed.cidr.text}?`);
  }
  return [...previous, ...splitList(value)];
};

/** A duration like 7d, 12h, 2w. */
export const duration: FlagCheck = (value) => {
  try {
    parseDuration(value, 'duration');
  } catch (error) {
    throw new InvalidArgumentError(
      `${(error as Error).message.replace(/^duration: /, '')} ${(error as { hint?: string }).hint ?? ''}`.trim(),
    );
  }
  return value;
};

/** A comma-separated list whose items must each be one of `allowed` (case-insensitive when `fold`). */
export function listOf(allowed: readonly string[], fold = false): FlagCheck {
  return (value) => {
    const items = splitList(value);
    if (items.length === 0) throw new InvalidArgumentError(`Give a comma-separated list of ${allowed.join(', ')}.`);
    for (const item of items) {
      const wanted = fold ? item.toUpperCase() : item;
      if (!allowed.includes(wanted)) throw new InvalidArgumentError(`"${item}" is not one of ${allowed.join(', ')}.`);
    }
    return value;
  };
}
