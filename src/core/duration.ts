import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** `90s`, `15m`, `12h`, `7d`, `2w`, `2y` → seconds. `flag` names the option in the error. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+)\s*([smhdwy])$/i.exec(text.trim());
  if (!match) {
    throw new UsageError(
      'INVALID_DURATION',
      `${flag}: "${text}" is not a duration.`,
      `Write a number and a unit: s, m, h, d, w or y (like 7d or 2y).`,
    );
  }
  const seconds = Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? 0);
  if (seconds <= 0)
    throw new UsageError(
      'INVALID_DURATION',
      `${flag}: "${text}" must be longer than zero.`,
      'Give a positive duration, like 7d.',
    );
  return seconds;
}
