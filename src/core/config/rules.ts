import {
  type Ipv4Cidr,
  isPrivateRange,
  parseCidr,
  SMALLEST_SUBNET_PREFIX,
  splitCidr,
  VPC_PREFIX_RANGE,
} from './cidr.js';
import type { KeyFacts } from './key-checks.js';
import {
  BUCKET_PURPOSES,
  bucketName,
  bucketNameProblem,
  LONGEST_BUCKET_PURPOSE,
  TRANSFER_USER_NAME,
} from './naming.js';
import { closestMatch, type ProblemList } from './problems.js';
import { partitionOf, regionProblem } from './regions.js';
import { clientEnvironments, environmentFieldPath, userNameOf } from './resolve.js';
import {
  type Config,
  clientSchema,
  type Environment,
  LEGACY_SECURITY_POLICIES,
  type ParsedConfig,
  SECURITY_POLICIES,
} from './schema.js';
import { securityGroupPlan } from './security-group.js';

/** Rules that look across fields. Each reports at the field a person would edit to fix it. */
export function checkConfigRules(parsed: ParsedConfig, config: Config, problems: ProblemList): void {
  checkEnvironments(parsed, config, problems);
  checkClients(config, problems);
  checkLambdaSecurityGroups(parsed, config, problems);
  checkDisabledUsers(config, problems);
  checkSharedAllowLists(config, problems);
  checkTags(config, problems);
}

function checkEnvironments(parsed: ParsedConfig, config: Config, problems: ProblemList): void {
  const reportedAt = new Set<string>();
  const once = (path: (string | number)[], report: () => void) => {
    const key = JSON.stringify(path);
    if (reportedAt.has(key)) return;
    reportedAt.add(key);
    report();
  };

  for (const env of Object.values(config.environments)) {
    const regionPath = environmentFieldPath(parsed, env.name, ['region']);
    const badRegion = env.region === '' ? undefined : regionProblem(env.region);
    if (badRegion)
      once(regionPath, () => problems.error('REGION_UNKNOWN', regionPath, badRegion.message, badRegion.hint));

    const cidrPath = environmentFieldPath(parsed, env.name, ['vpc', 'cidr']);
    if (env.vpc.cidr !== '') once(cidrPath, () => checkVpcCidr(env.vpc.cidr, env.vpc.azCount, cidrPath, problems));

    const protocolsPath = environmentFieldPath(parsed, env.name, ['transfer', 'protocols']);
    env.transfer.protocols.forEach((protocol, index) => {
      const refusal = protocolProblem(protocol, env);
      if (refusal) {
        const path = [...protocolsPath, index];
        // A refusal that names the environment is reported per environment; one that does not, once per field.
        const key = refusal.message.includes(`"${env.name}"`) ? [env.name, ...path] : path;
        once(key, () => problems.error(refusal.code, path, refusal.message, refusal.hint));
      }
    });
    checkCertificate(parsed, env, once, problems);

    const policyPath = environmentFieldPath(parsed, env.name, ['transfer', 'securityPolicy']);
    const policy = env.transfer.securityPolicy;
    once(policyPath, () => {
      if (!(SECURITY_POLICIES as readonly string[]).includes(policy)) {
        const guess = closestMatch(policy, SECURITY_POLICIES);
        problems.error(
          'SECURITY_POLICY_UNKNOWN',
          policyPath,
          `"${policy}" is not an AWS Transfer Family security policy`,
          guess
            ? `Did you mean ${guess}?`
            : 'Use TransferSecurityPolicy-2025-03 (or TransferSecurityPolicy-FIPS-2025-03).',
        );
      } else if (LEGACY_SECURITY_POLICIES.has(policy)) {
        problems.warning(
          'SECURITY_POLICY_LEGACY',
          policyPath,
          `${policy} still offers SHA-1 or CBC algorithms to clients`,
          'Use TransferSecurityPolicy-2025-03 unless a partner cannot connect with it.',
        );
      }
    });
  }
}

/** Why an environment cannot serve `protocol`, or undefined when it can. */
function protocolProblem(
  protocol: Environment['transfer']['protocols'][number],
  env: Environment,
): { code: string; message: string; hint: string } | undefined {
  switch (protocol) {
    case 'SFTP':
      return undefined;
    case 'FTPS':
      if (env.identity.mode !== 'lambda')
        return {
          code: 'PROTOCOL_NEEDS_IDENTITY_PROVIDER',
          message: `FTPS needs identity.mode: lambda in environment "${env.name}": AWS Transfer Family serves FTPS only with a custom identity provider, and service-managed users have no passwords`,
          hint: 'Set identity: { mode: lambda } and transfer.certificate for this environment, or use protocols: [SFTP].',
        };
      return undefined;
    case 'FTP':
      return {
        code: 'PROTOCOL_UNSUPPORTED',
        message:
          'FTP is not supported: plain FTP sends passwords and files unencrypted over the internet (Transfer Family also refuses it on an internet-facing endpoint)',
        hint: 'Use FTPS (identity.mode: lambda with transfer.certificate) or SFTP.',
      };
    case 'AS2':
      return {
        code: 'PROTOCOL_UNSUPPORTED',
        message:
          'AS2 is not supported: it needs AS2 partner profiles, agreements and signing certificates that sftpctl does not manage',
        hint: 'Use protocols: [SFTP] or, with identity.mode: lambda, [SFTP, FTPS].',
      };
  }
}

const ACM_ARN =
  /^arn:(aws[a-z-]*):acm:([a-z]{2,4}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}):(\d{12}):certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** transfer.certificate: an ACM certificate of the environment's region (and account), needed by FTPS and only by it. */
function checkCertificate(
  parsed: ParsedConfig,
  env: Environment,
  once: (path: (string | number)[], report: () => void) => void,
  problems: ProblemList,
): void {
  const ftps = env.transfer.protocols.includes('FTPS');
  const certificate = env.transfer.certificate;
  if (certificate === undefined) {
    if (ftps && env.identity.mode === 'lambda') {
      const path = environmentFieldPath(parsed, env.name, ['transfer', 'protocols']);
      once([env.name, 'certificate', ...path], () =>
        problems.error(
          'FTPS_CERTIFICATE_MISSING',
          path,
          `FTPS in environment "${env.name}" needs an ACM certificate for the host name partners connect to`,
          `Request or import one in ACM in ${env.region || "the environment's region"} and set transfer.certificate: arn:aws:acm:${env.region || '<region>'}:<account>:certificate/<id>.`,
        ),
      );
    }
    return;
  }
  const path = environmentFieldPath(parsed, env.name, ['transfer', 'certificate']);
  const report = (code: string, message: string, hint: string, level: 'error' | 'warning' = 'error') =>
    once([env.name, ...path], () => problems[level](code, path, message, hint));
  const match = ACM_ARN.exec(certificate);
  if (!match) {
    report(
      'CERTIFICATE_INVALID',
      `"${certificate}" is not an ACM certificate ARN`,
      'Write it like arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 (ACM console → certificate → ARN).',
    );
    return;
  }
  const [, partition, region, account] = match;
  if (env.region !== '' && region !== env.region) {
    report(
      'CERTIFICATE_REGION',
      `the certificate is in ${region}, but environment "${env.name}" is in ${env.region}: Transfer Family uses only certificates of its own region`,
      `Request or import the certificate in ACM in ${env.region} and use that ARN.`,
    );
  } else if (env.region !== '' && partitionOf(env.region) !== undefined && partition !== partitionOf(env.region)) {
    report(
      'CERTIFICATE_INVALID',
      `the certificate ARN's partition ${partition} does not match region ${env.region}`,
      'Copy the ARN from ACM.',
    );
  } else if (env.account !== undefined && account !== env.account) {
    report(
      'CERTIFICATE_ACCOUNT',
      `the certificate belongs to account ${account}, but environment "${env.name}" deploys to ${env.account}`,
      `Request or import the certificate in account ${env.account}.`,
    );
  } else if (!ftps) {
    report(
      'CERTIFICATE_UNUSED',
      `environment "${env.name}" sets transfer.certificate but does not serve FTPS`,
      'Add FTPS to transfer.protocols (identity.mode: lambda), or remove the certificate.',
      'warning',
    );
  }
}

/**
 * In `lambda` mode the security group is defence in depth: over the rule quota the union gives way to an open group
 * (the identity function still checks each client's CIDRs). Explained as a warning when that happened by default;
 * an error only when `securityGroup: union` was chosen and cannot be built.
 */
function checkLambdaSecurityGroups(parsed: ParsedConfig, config: Config, problems: ProblemList): void {
  for (const env of Object.values(config.environments)) {
    if (env.identity.mode !== 'lambda') continue;
    const plan = securityGroupPlan(config, env.name);
    if (plan.unionRules <= plan.limit || env.identity.securityGroup === 'open') continue;
    const ports = plan.ports.map((port) => (port.from === port.to ? `${port.from}` : `${port.from}-${port.to}`));
    const need = `the union of the clients' CIDRs needs ${plan.unionRules} security group rules (${plan.sources.length} CIDRs × ${plan.ports.length} port rules: tcp/${ports.join(', ')}), over securityGroupRuleLimit ${plan.limit}`;
    if (plan.fellBackToOpen) {
      problems.warning(
        'SECURITY_GROUP_OPEN_FALLBACK',
        ['environments', env.name],
        `environment "${env.name}": ${need}, so its security group admits any address on those ports. Logins stay per client (the identity function refuses a user whose source address is outside its client's CIDRs), but anyone can reach the login prompt`,
        'Set identity.securityGroup: open to accept this trade-off, or keep the union as a second barrier: raise the "Inbound or outbound rules per security group" quota, set securityGroupRuleLimit, or merge partner CIDRs.',
        'key',
      );
    } else {
      const path = environmentFieldPath(parsed, env.name, ['identity', 'securityGroup']);
      problems.error(
        'SECURITY_GROUP_RULES_OVER_LIMIT',
        path,
        `environment "${env.name}": ${need}, and identity.securityGroup is union`,
        "Set identity.securityGroup: open (the identity function still refuses logins from outside each client's CIDRs), raise the quota and set securityGroupRuleLimit, or merge partner CIDRs.",
      );
    }
  }
}

/** A disabled user needs a user store that can say so: the identity function's table (or `local up`). */
function checkDisabledUsers(config: Config, problems: ProblemList): void {
  config.clients.forEach((client, index) => {
    for (const role of ['upload', 'download'] as const) {
      if (client[role]?.enabled !== false) continue;
      const serviceManaged = clientEnvironments(config, client).filter(
        (env) => config.environments[env]?.identity.mode !== 'lambda',
      );
      if (serviceManaged.length === 0) continue;
      problems.error(
        'USER_DISABLED_NEEDS_LAMBDA',
        ['clients', index, role, 'enabled'],
        `${client.name}'s ${role} user is disabled, but environment${serviceManaged.length > 1 ? 's' : ''} ${serviceManaged.map((env) => `"${env}"`).join(', ')} use${serviceManaged.length > 1 ? '' : 's'} service-managed users, which Transfer cannot disable`,
        "Set identity.mode: lambda there (the identity function refuses disabled users), or remove the user's sshKeys to lock it out.",
      );
    }
  });
}

function checkVpcCidr(text: string, azCount: number, path: (string | number)[], problems: ProblemList): void {
  const parsed = parseCidr(text);
  if (!parsed.ok) {
    problems.error('VPC_CIDR_INVALID', path, `VPC CIDR "${text}" ${parsed.reason}`, 'Write it like 10.42.0.0/24.');
    return;
  }
  const { cidr } = parsed;
  if (parsed.bareAddress) {
    problems.error('VPC_CIDR_INVALID', path, `VPC CIDR "${text}" has no prefix length`, 'Write it like 10.42.0.0/24.');
    return;
  }
  if (parsed.hostBitsSet) {
    problems.error('VPC_CIDR_HOST_BITS', path, `VPC CIDR "${text}" has host bits set`, `Did you mean ${cidr.text}?`);
  }
  if (cidr.prefix < VPC_PREFIX_RANGE.min || cidr.prefix > VPC_PREFIX_RANGE.max) {
    problems.error(
      'VPC_CIDR_SIZE',
      path,
      `VPC CIDR /${cidr.prefix} is outside what AWS allows (/16 to /28)`,
      'A /24 is plenty for the Transfer endpoint.',
    );
    return;
  }
  const subnetPrefix = splitCidr(cidr, azCount)[0]?.prefix ?? 32;
  if (subnetPrefix > SMALLEST_SUBNET_PREFIX) {
    problems.error(
      'VPC_TOO_SMALL',
      path,
      `VPC CIDR ${cidr.text} is too small for ${azCount} subnets: each would be /${subnetPrefix}, and AWS subnets are at least /28`,
      `Use a /${SMALLEST_SUBNET_PREFIX - Math.ceil(Math.log2(azCount))} or larger.`,
    );
  }
  if (!isPrivateRange(cidr)) {
    problems.warning(
      'VPC_CIDR_PUBLIC',
      path,
      `VPC CIDR ${cidr.text} is not a private (RFC 1918) range`,
      'Use a range from 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 that does not overlap your other networks.',
    );
  }
}

function checkClients(config: Config, problems: ProblemList): void {
  const seenClients = new Map<string, number>();
  const usersByEnv = new Map<string, Map<string, string>>();
  const rulesByEnv = new Map<string, number>();
  const envNames = Object.keys(config.environments);

  config.clients.forEach((client, index) => {
    const at = (...rest: (string | number)[]) => ['clients', index, ...rest];
    const first = seenClients.get(client.name);
    if (first !== undefined) {
      problems.error(
        'CLIENT_DUPLICATE',
        at('name'),
        `client "${client.name}" is defined twice (first as clients[${first}])`,
        'Client names must be unique: merge the two entries or rename one.',
      );
    } else {
      seenClients.set(client.name, index);
    }

    (client.environments ?? []).forEach((env, envIndex) => {
      if (!envNames.includes(env)) {
        const guess = closestMatch(env, envNames);
        problems.error(
          'CLIENT_UNKNOWN_ENVIRONMENT',
          at('environments', envIndex),
          `environment "${env}" is not defined under environments`,
          guess ? `Did you mean ${guess}?` : `Defined environments: ${envNames.join(', ')}.`,
        );
      }
    });
    const envs = clientEnvironments(config, client).filter((env) => envNames.includes(env));

    checkBucketNames(config.project, client.name, envs, at('name'), problems);

    if (client.upload == null && client.download == null) {
      problems.error(
        'CLIENT_NO_USERS',
        at('name'),
        `client "${client.name}" has neither an upload nor a download user`,
        'Add `upload: { sshKeys: [...] }` and/or `download: { sshKeys: [...] }`.',
      );
    }

    for (const role of ['upload', 'download'] as const) {
      const userName = userNameOf(client, role);
      if (userName === undefined) continue;
      const namePath = client[role]?.userName === undefined ? at('name') : at(role, 'userName');
      if (!TRANSFER_USER_NAME.test(userName)) {
        problems.error(
          'USER_NAME_INVALID',
          namePath,
          `user name "${userName}" is not valid for AWS Transfer Family`,
          'User names are 3-100 characters of letters, digits, _ @ . and -, starting with a letter, digit or _.',
        );
      } else if (userName.toLowerCase() === 'root') {
        problems.error(
          'USER_NAME_RESERVED',
          namePath,
          'AWS Transfer Family does not allow a user named "root"',
          'Choose another user name.',
        );
      }
      for (const env of envs) {
        const users = usersByEnv.get(env) ?? new Map<string, string>();
        usersByEnv.set(env, users);
        const owner = users.get(userName);
        if (owner !== undefined) {
          problems.error(
            'USER_NAME_DUPLICATE',
            namePath,
            `user name "${userName}" is also used by ${owner} in environment "${env}"`,
            'Each Transfer user name must be unique per server: change userName.',
          );
          break;
        }
        users.set(userName, `client "${client.name}" (${role})`);
      }
    }

    const cidrs = checkAllowedIps(client, index, problems);
    for (const env of envs) rulesByEnv.set(env, (rulesByEnv.get(env) ?? 0) + cidrs.length);

    const seenExtensions = new Set<string>();
    client.encryptedExtensions.forEach((extension, extIndex) => {
      if (seenExtensions.has(extension)) {
        problems.warning(
          'EXTENSION_DUPLICATE',
          at('encryptedExtensions', extIndex),
          `extension "${extension}" is listed twice`,
        );
      }
      seenExtensions.add(extension);
    });
  });

  for (const [env, rules] of rulesByEnv) {
    // lambda mode: checkLambdaSecurityGroups
    if (config.environments[env]?.identity.mode === 'lambda') continue;
    const limit = config.environments[env]?.securityGroupRuleLimit ?? 60;
    if (rules > limit) {
      problems.error(
        'SECURITY_GROUP_RULES_OVER_LIMIT',
        ['environments', env],
        `environment "${env}" needs ${rules} security group rules (one per allowed CIDR), over the limit of ${limit}`,
        'Merge partner CIDRs into wider ranges, or raise the "Inbound or outbound rules per security group" quota and set securityGroupRuleLimit.',
        'key',
      );
    }
  }
}

function checkBucketNames(
  project: string,
  client: string,
  envs: readonly string[],
  path: (string | number)[],
  problems: ProblemList,
): void {
  for (const problem of bucketNameProblems(project, client, envs)) {
    problems.error('BUCKET_NAME_INVALID', path, problem.message, problem.hint);
  }
}

/** What is wrong with the bucket names a client would get in these environments (the longest environment decides). */
function bucketNameProblems(
  project: string,
  client: string,
  envs: readonly string[],
): { message: string; hint?: string }[] {
  const longestEnv = [...envs].sort((a, b) => b.length - a.length)[0];
  if (longestEnv === undefined) return [];
  const longest = bucketName(project, longestEnv, client, LONGEST_BUCKET_PURPOSE);
  const problem = bucketNameProblem(longest);
  if (problem === undefined) {
    return BUCKET_PURPOSES.flatMap((purpose) => {
      const name = bucketName(project, longestEnv, client, purpose);
      const other = bucketNameProblem(name);
      return other ? [{ message: `bucket name "${name}" ${other}` }] : [];
    });
  }
  const spare = longest.length - 63;
  return [
    {
      message: `bucket name "${longest}" ${problem}`,
      ...(spare > 0 ? { hint: `Shorten the client name (or the project name) by ${spare} characters.` } : {}),
    },
  ];
}

/**
 * The final validation's rules for a client name, for a prompt to apply where the name is typed: the schema's name
 * rule, then the bucket names it would make for this project and these environments. Undefined when it is fine.
 */
export function clientNameProblem(project: string, envs: readonly string[], name: string): string | undefined {
  const parsed = clientSchema.shape.name.safeParse(name);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? 'not a valid client name';
  const [problem] = bucketNameProblems(project, name, envs);
  return problem ? `${problem.message}${problem.hint ? `. ${problem.hint}` : ''}` : undefined;
}

/** The final validation's rule for one allowed-IP entry, also applied by prompts where it is typed. */
export function allowedIpProblem(
  text: string,
  allowAnyIp: boolean,
): { ok: true; cidr: Ipv4Cidr } | { ok: false; code: string; message: string; hint: string } {
  const parsed = parseCidr(text);
  if (!parsed.ok)
    return {
      ok: false,
      code: 'CIDR_INVALID',
      message: `"${text}" ${parsed.reason}`,
      hint: 'Write an IPv4 address or CIDR, like 203.0.113.10 or 203.0.113.0/24.',
    };
  const { cidr } = parsed;
  if (parsed.hostBitsSet)
    return {
      ok: false,
      code: 'CIDR_HOST_BITS',
      message: `"${text}" has host bits set`,
      hint: `Did you mean ${cidr.text}?`,
    };
  if (cidr.prefix === 0 && !allowAnyIp)
    return {
      ok: false,
      code: 'CIDR_OPEN_TO_WORLD',
      message: `${cidr.text} opens the SFTP port to the whole internet`,
      hint: "List the partner's egress addresses instead; if you really mean it, set `allowAnyIp: true` on this client.",
    };
  return { ok: true, cidr };
}

function checkAllowedIps(client: Config['clients'][number], index: number, problems: ProblemList): Ipv4Cidr[] {
  const at = (...rest: (string | number)[]) => ['clients', index, ...rest];
  const accepted: Ipv4Cidr[] = [];
  client.allowedIps.forEach((text, ipIndex) => {
    const path = at('allowedIps', ipIndex);
    const checked = allowedIpProblem(text, client.allowAnyIp);
    if (!checked.ok) {
      problems.error(checked.code, path, checked.message, checked.hint);
      return;
    }
    const { cidr } = checked;
    if (accepted.some((other) => other.text === cidr.text)) {
      problems.warning('CIDR_DUPLICATE', path, `${cidr.text} is listed twice`);
      return;
    }
    if (isPrivateRange(cidr)) {
      problems.warning(
        'CIDR_PRIVATE',
        path,
        `${cidr.text} is a private range; the public SFTP endpoint only sees partners' public addresses`,
        'Use the public address the partner connects from.',
      );
    }
    accepted.push(cidr);
  });
  if (client.allowedIps.length === 0 && !client.allowAnyIp) {
    problems.warning(
      'CLIENT_NO_ALLOWED_IPS',
      at('name'),
      `client "${client.name}" has no allowedIps, so nobody can connect to it from outside`,
      "Add the partner's public addresses under allowedIps.",
    );
  }
  return accepted;
}

function checkTags(config: Config, problems: ProblemList): void {
  const count = Object.keys(config.tags).length;
  if (count > 45) {
    problems.error(
      'TAGS_TOO_MANY',
      ['tags'],
      `${count} tags are too many: AWS allows 50 per resource and sftpctl adds up to 5 of its own`,
      'Keep at most 45 project tags.',
      'key',
    );
  }
}

/** Where two partners' allow-lists meet: one partner's address admits the other's users to the SFTP port. */
function checkSharedAllowLists(config: Config, problems: ProblemList): void {
  const seen: { client: string; index: number; ipIndex: number; cidr: Ipv4Cidr; envs: string[] }[] = [];
  config.clients.forEach((client, index) => {
    const envs = clientEnvironments(config, client);
    client.allowedIps.forEach((text, ipIndex) => {
      const parsed = parseCidr(text);
      if (!parsed.ok || parsed.hostBitsSet || parsed.cidr.prefix === 0) return;
      const cidr = parsed.cidr;
      for (const other of seen) {
        if (other.client === client.name || !cidrsOverlap(cidr, other.cidr)) continue;
        if (!envs.some((env) => other.envs.includes(env))) continue;
        const same = other.cidr.text === cidr.text;
        problems.warning(
          same ? 'CIDR_SHARED' : 'CIDR_OVERLAP',
          ['clients', index, 'allowedIps', ipIndex],
          same
            ? `${cidr.text} is also allowed for client "${other.client}" (clients[${other.index}].allowedIps[${other.ipIndex}])`
            : `${cidr.text} overlaps ${other.cidr.text} of client "${other.client}" (clients[${other.index}].allowedIps[${other.ipIndex}])`,
          "Each partner should list only its own egress addresses; a shared range lets one partner reach the other's login prompt.",
        );
        break;
      }
      seen.push({ client: client.name, index, ipIndex, cidr, envs });
    });
  });
}

function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}

/**
 * Risky key reuse, once the key files were read: one SSH key logging in as several users (a leak of it opens all of
 * them, and Transfer cannot tell the partners apart), and exports encrypted to our own ingress key (the partner cannot
 * read them, and anyone holding our ingress key can).
 */
export function checkSharedKeys(config: Config, keys: KeyFacts, problems: ProblemList): void {
  const owners = new Map<string, { user: string; path: string }>();
  config.clients.forEach((client, index) => {
    for (const role of ['upload', 'download'] as const) {
      const user = client[role];
      if (user == null) continue;
      const userName = userNameOf(client, role) ?? `${client.name} ${role}`;
      user.sshKeys.forEach((_, keyIndex) => {
        const path = ['clients', index, role, 'sshKeys', keyIndex];
        for (const key of keys.ssh.get(JSON.stringify(path)) ?? []) {
          const owner = owners.get(key.fingerprint);
          if (owner === undefined) {
            owners.set(key.fingerprint, { user: userName, path: `clients[${index}].${role}.sshKeys[${keyIndex}]` });
          } else if (owner.user !== userName) {
            problems.warning(
              'SSH_KEY_SHARED',
              path,
              `SSH key ${key.fingerprint} also logs in as user "${owner.user}" (${owner.path})`,
              'Give every user its own key pair: one leaked key would open both, and the logs cannot tell them apart.',
            );
          }
        }
      });
    }
  });

  const ingress = new Map<string, string>();
  config.clients.forEach((client, index) => {
    const info = keys.pgp.get(JSON.stringify(['clients', index, 'pgp', 'ingressPublicKey']));
    if (info) ingress.set(info.fingerprint, client.name);
  });
  config.clients.forEach((client, index) => {
    const path = ['clients', index, 'pgp', 'partnerPublicKey'];
    const info = keys.pgp.get(JSON.stringify(path));
    const ours = info ? ingress.get(info.fingerprint) : undefined;
    if (info && ours !== undefined) {
      problems.warning(
        'PGP_EGRESS_TO_OWN_KEY',
        path,
        `the partner key ${info.fingerprint} is our own ingress key${ours === client.name ? '' : ` (of client "${ours}")`}: exports would be encrypted to us, not to the partner`,
        "Set pgp.partnerPublicKey to the partner's own public key (they send it); never hand them our ingress private key.",
      );
    }
  });
}
