import { parseCidr } from '../core/config/cidr.js';
import { regionProblem } from '../core/config/regions.js';
import { parseDuration } from '../core/duration.js';
import { splitList } from './options.js';

/**
 * Checks of flag values, run by src/cli.ts before any command starts (loaded only then, so `--help` stays fast).
 * Each returns what is wrong and what to give instead, or undefined; the CLI names the flag and exits 2.
 *
 *   int:MIN:MAX:EXAMPLE  a whole number from MIN to MAX
 *   amount               a number of zero or more
 *   region               an AWS region of any partition, known offline
 *   cidr                 an IPv4 address or CIDR without host bits
 *   duration             like 7d, 12h, 2w
 *   list:A,B,C           a comma-separated list of A, B, C (case-insensitive)
 */
export type FlagCheck = string;

export function flagProblem(check: FlagCheck, value: string): string | undefined {
  const [kind, ...args] = check.split(':');
  switch (kind) {
    case 'int': {
      const [min, max, example] = args.map(String);
      const number = Number(value);
      return value.trim() === '' || !Number.isInteger(number) || number < Number(min) || number > Number(max)
        ? `Give a whole number from ${min} to ${max}, like ${example}.`
        : undefined;
    }
    case 'amount': {
      const number = Number(value);
      return value.trim() === '' || !Number.isFinite(number) || number < 0
        ? 'Give a number of zero or more, like 10 or 2.5.'
        : undefined;
    }
    case 'region': {
      const problem = regionProblem(value);
      return problem ? `${problem.message}. ${problem.hint}` : undefined;
    }
    case 'cidr': {
      const parsed = parseCidr(value);
      if (!parsed.ok) return `"${value}" ${parsed.reason}; give an address like 203.0.113.10.`;
      return parsed.hostBitsSet ? `"${value}" has host bits set; did you mean ${parsed.cidr.text}?` : undefined;
    }
    case 'duration':
      try {
        parseDuration(value, 'duration');
        return undefined;
      } catch (error) {
        return `${(error as Error).message.replace(/^duration: /, '')} ${(error as { hint?: string }).hint ?? ''}`.trim();
      }
    case 'list': {
      const allowed = (args[0] ?? '').split(',');
      const items = splitList(value);
      if (items.length === 0) return `Give a comma-separated list of ${allowed.join(', ')}.`;
      const bad = items.find((item) => !allowed.includes(item.toUpperCase()));
      return bad === undefined ? undefined : `"${bad}" is not one of ${allowed.join(', ')}.`;
    }
    default:
      throw new Error(`unknown flag check ${check}`);
  }
}
