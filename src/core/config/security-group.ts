import { parseCidr } from './cidr.js';
import { clientsInEnvironment } from './resolve.js';
import type { Config, Environment } from './schema.js';

/**
 * What the endpoint's security group admits, decided once for the network template and `config validate`: which
 * ports the enabled protocols serve, and from where. In `service-managed` mode the security group is the only
 * per-partner control, so it is always the union of the clients' CIDRs. In `lambda` mode the identity function
 * enforces each client's CIDRs at login; the security group is defence in depth: the union while it fits the rule
 * quota, else (or when chosen) open to any address on the served ports.
 */

export const SFTP_PORT = 22;
export const FTPS_CONTROL_PORT = 21;
/** The passive data ports Transfer Family's FTPS endpoints use (8192-8200). */
export const FTPS_PASSIVE_PORTS = { from: 8192, to: 8200 } as const;

export interface ServedPorts {
  from: number;
  to: number;
  /** What the port carries, for rule descriptions: "SFTP", "FTPS control", "FTPS passive data". */
  purpose: string;
}

/** The ports the environment's protocols listen on (SFTP: 22; FTPS: 21 and the passive range). */
export function servedPorts(env: Pick<Environment, 'transfer'>): ServedPorts[] {
  const ports: ServedPorts[] = [];
  if (env.transfer.protocols.includes('SFTP')) ports.push({ from: SFTP_PORT, to: SFTP_PORT, purpose: 'SFTP' });
  if (env.transfer.protocols.includes('FTPS')) {
    ports.push({ from: FTPS_CONTROL_PORT, to: FTPS_CONTROL_PORT, purpose: 'FTPS control' });
    ports.push({ ...FTPS_PASSIVE_PORTS, purpose: 'FTPS passive data' });
  }
  return ports;
}

/** One allowed source: a CIDR and the clients that asked for it (two clients may share an address). */
export interface AllowedSource {
  cidr: string;
  clients: string[];
}

/**
 * The allow-list of the environment: one entry per distinct CIDR, in config order. A client with `allowAnyIp: true`
 * adds 0.0.0.0/0 (a deliberate decision the security rules report as suppressed, not hidden).
 */
export function allowedSources(config: Config, env: string): AllowedSource[] {
  const byCidr = new Map<string, AllowedSource>();
  const add = (cidr: string, client: string) => {
    const entry = byCidr.get(cidr) ?? { cidr, clients: [] };
    if (!entry.clients.includes(client)) entry.clients.push(client);
    byCidr.set(cidr, entry);
  };
  for (const client of clientsInEnvironment(config, env)) {
    for (const text of client.allowedIps) {
      const parsed = parseCidr(text);
      if (parsed.ok) add(parsed.cidr.text, client.name);
    }
    if (client.allowAnyIp) add('0.0.0.0/0', client.name);
  }
  return [...byCidr.values()];
}

export interface SecurityGroupPlan {
  /** `union`: one rule per allowed CIDR and served port; `open`: 0.0.0.0/0 on each served port. */
  mode: 'union' | 'open';
  ports: ServedPorts[];
  /** The union's sources (also when the plan is `open`: they are what the identity function enforces). */
  sources: AllowedSource[];
  /** Inbound rules the union needs: sources × ports. */
  unionRules: number;
  limit: number;
  /** Lambda mode with `securityGroup` left to its default: the union did not fit, so the plan is `open`. */
  fellBackToOpen: boolean;
}

export function securityGroupPlan(config: Config, envName: string): SecurityGroupPlan {
  const env = config.environments[envName];
  if (!env) throw new Error(`securityGroupPlan: unknown environment ${envName}`);
  const ports = servedPorts(env);
  const sources = allowedSources(config, envName);
  const unionRules = sources.length * ports.length;
  const limit = env.securityGroupRuleLimit;
  const base = { ports, sources, unionRules, limit };
  if (env.identity.mode !== 'lambda') return { ...base, mode: 'union', fellBackToOpen: false };
  if (env.identity.securityGroup === 'open') return { ...base, mode: 'open', fellBackToOpen: false };
  if (unionRules <= limit || env.identity.securityGroupExplicit)
    return { ...base, mode: 'union', fellBackToOpen: false };
  return { ...base, mode: 'open', fellBackToOpen: true };
}
