/**
 * Brute-force defender: after `maxFailures` failed logins from one address within `windowMs`, that address is
 * refused for `banMs`. A failed login is a connection that tried to authenticate and ended (or was cut off) without
 * succeeding: OpenSSH offers a key with a signature-less probe and gives up when the key is not acceptable, so
 * counting signed attempts only would never catch a wrong-key client. A successful login does not clear earlier
 * failures (an address that keeps failing keeps being counted). Like SFTPGo's defender, it keeps state in memory only.
 */
export interface DefenderOptions {
  maxFailures: number;
  windowMs: number;
  banMs: number;
}

export const DEFAULT_DEFENDER: DefenderOptions = { maxFailures: 10, windowMs: 5 * 60_000, banMs: 15 * 60_000 };

/** Addresses tracked at most; the oldest are forgotten first, so a flood of sources cannot exhaust memory. */
const MAX_TRACKED = 10_000;

export class Defender {
  private readonly failures = new Map<string, number[]>();
  private readonly bans = new Map<string, number>();

  constructor(
    private readonly options: DefenderOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.maxFailures >= 1 && options.windowMs > 0 && options.banMs > 0)) {
      throw new Error('defender: maxFailures must be at least 1, windowMs and banMs above 0');
    }
  }

  /** The time (ms since epoch) the ban of `ip` ends, or undefined when it is not banned. */
  bannedUntil(ip: string): number | undefined {
    const until = this.bans.get(ip);
    if (until === undefined) return undefined;
    if (until <= this.now()) {
      this.bans.delete(ip);
      return undefined;
    }
    return until;
  }

  /** Records one failed login; returns the ban end when this failure triggered a ban. */
  recordFailure(ip: string): { failures: number; bannedUntil?: number } {
    const now = this.now();
    const recent = (this.failures.get(ip) ?? []).filter((time) => time > now - this.options.windowMs);
    recent.push(now);
    this.failures.delete(ip);
    if (recent.length >= this.options.maxFailures) {
      const until = now + this.options.banMs;
      this.bans.delete(ip);
      this.bans.set(ip, until);
      this.trim(this.bans);
      return { failures: recent.length, bannedUntil: until };
    }
    this.failures.set(ip, recent);
    this.trim(this.failures);
    return { failures: recent.length };
  }

  /** Forgets expired bans and failures older than the window. */
  prune(): void {
    const now = this.now();
    for (const [ip, until] of this.bans) if (until <= now) this.bans.delete(ip);
    for (const [ip, times] of this.failures) {
      const recent = times.filter((time) => time > now - this.options.windowMs);
      if (recent.length === 0) this.failures.delete(ip);
      else this.failures.set(ip, recent);
    }
  }

  private trim(map: Map<string, unknown>): void {
    while (map.size > MAX_TRACKED) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
