import { decideLogin, type LoginContext, type LoginDecision, type LoginRequest } from './decide.js';
import type { IdentityRecord } from './record.js';

/** Where identity records live: the DynamoDB user table on AWS, the config in `local up`. */
export interface IdentityStore {
  record(userName: string): Promise<IdentityRecord | undefined>;
  /**
   * The password hash held in the named secret (FTPS users), or undefined. Asked for every FTPS login, with no
   * secret name for an unknown user or one without a password: a store that can should then read a decoy, so that
   * refusing an unknown user makes the calls refusing a wrong password does.
   */
  passwordHash(userName: string, secretName: string | undefined): Promise<string | undefined>;
}

export interface IdentityServiceOptions {
  /** How long a looked-up record (or its absence) is reused: short, so a disabled user is out within it. */
  cacheMs?: number;
  /** Bound on cached users; the oldest go first. */
  cacheSize?: number;
  allowLoopback?: boolean;
  now?: () => Date;
  log?: (event: Record<string, unknown>) => void;
}

/**
 * Answers login requests from a store, caching records briefly (a warm identity function answers from memory),
 * and logs each decision with its reason — never a password, never to the client.
 */
export class IdentityService {
  private readonly cache = new Map<string, { at: number; record: Promise<IdentityRecord | undefined> }>();
  private readonly cacheMs: number;
  private readonly cacheSize: number;

  constructor(
    private readonly store: IdentityStore,
    private readonly options: IdentityServiceOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 30_000;
    this.cacheSize = options.cacheSize ?? 5_000;
  }

  async login(request: LoginRequest): Promise<LoginDecision> {
    const now = this.options.now?.() ?? new Date();
    const record = await this.lookup(request.userName, now.getTime());
    const context: LoginContext = { now, allowLoopback: Boolean(this.options.allowLoopback) };
    if (request.protocol === 'FTPS') {
      const hash = await this.store.passwordHash(request.userName, record?.passwordSecret);
      if (hash !== undefined && record?.passwordSecret) context.passwordHash = hash;
    }
    const decision = await decideLogin(record, request, context);
    this.options.log?.({
      event: decision.allowed ? 'login-allowed' : 'login-refused',
      user: request.userName,
      ...(record ? { client: record.client, role: record.role } : {}),
      sourceIp: request.sourceIp,
      protocol: request.protocol,
      ...(decision.allowed ? { keys: decision.keys.length } : { reason: decision.reason }),
    });
    return decision;
  }

  private lookup(userName: string, now: number): Promise<IdentityRecord | undefined> {
    const hit = this.cache.get(userName);
    if (hit && now - hit.at < this.cacheMs) return hit.record;
    const record = this.store.record(userName);
    this.cache.delete(userName);
    this.cache.set(userName, { at: now, record });
    record.catch(() => this.cache.delete(userName));
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return record;
  }
}
