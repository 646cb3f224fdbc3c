/**
 * Every AWS name the platform derives from the config, in one place, so validation, templates, the local
 * platform and the deploy engine all agree on them.
 */

export const BUCKET_PURPOSES = ['upload', 'raw', 'export', 'download'] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

export const USER_ROLES = ['upload', 'download'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** The longest suffix a bucket name gets; validation checks names against it. */
export const LONGEST_BUCKET_PURPOSE = 'download';
export const MAX_BUCKET_NAME_LENGTH = 63;

/** Lower-case letters, digits and inner hyphens: safe in bucket, stack, function and secret names alike. */
export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Transfer Family's user-name rule. */
export const TRANSFER_USER_NAME = /^[\w][\w@.-]{2,99}$/;

export function bucketName(project: string, env: string, client: string, purpose: BucketPurpose): string {
  return `${project}-${env}-${client}-${purpose}`;
}

export function defaultUserName(client: string, role: UserRole): string {
  return `${client}-${role}`;
}

export function stackName(project: string, env: string, part: 'assets' | 'network' | 'server'): string {
  return `${project}-${env}-${part}`;
}

export function clientStackName(project: string, env: string, client: string): string {
  return `${project}-${env}-client-${client}`;
}

/** Secrets Manager names for a client's PGP material. */
export function secretNames(project: string, env: string, client: string) {
  const base = `/${project}/${env}/${client}`;
  return {
    ingressPrivateKeys: `${base}/pgp/ingress-private-keys`,
    partnerPublicKey: `${base}/pgp/partner-public-key`,
  };
}

/** Why a string cannot be (part of) an S3 bucket name, or undefined when it can. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length > MAX_BUCKET_NAME_LENGTH) return `is ${name.length} characters; S3 allows at most 63`;
  if (!DNS_LABEL.test(name)) return 'may contain only lower-case letters, digits and inner hyphens';
  if (name.includes('--')) return 'may not contain "--" (S3 reserves some double-hyphen forms)';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'may not start with "xn--" or "sthree-"';
  if (/-s3alias$|--ol-s3$|--x-s3$|--table-s3$/.test(name)) return 'ends with a suffix S3 reserves';
  return undefined;
}

/** Environment-wide buckets of the assets stack: function bundles and large templates; S3 and VPC access logs. */
export const ENVIRONMENT_BUCKET_PURPOSES = ['assets', 'access-logs'] as const;
export type EnvironmentBucketPurpose = (typeof ENVIRONMENT_BUCKET_PURPOSES)[number];

export function environmentBucketName(project: string, env: string, purpose: EnvironmentBucketPurpose): string {
  return `${project}-${env}-${purpose}`;
}

/** KMS alias of the environment key (assets bucket, Transfer server logs). */
export function platformKeyAlias(project: string, env: string): string {
  return `alias/${project}/${env}/platform`;
}

/** KMS alias of a client's key (its buckets, queues, secrets, function logs). */
export function clientKeyAlias(project: string, env: string, client: string): string {
  return `alias/${project}/${env}/client/${client}`;
}

/** CloudWatch log group of the Transfer server's structured logs. */
export function serverLogGroupName(project: string, env: string): string {
  return `/sftpctl/${project}/${env}/transfer`;
}

/** Every log group of a client starts with this prefix (its key lets CloudWatch Logs encrypt only these). */
export function clientLogGroupPrefix(project: string, env: string, client: string): string {
  return `/sftpctl/${project}/${env}/client/${client}/`;
}

export function functionLogGroupName(project: string, env: string, client: string, fn: 'ingress' | 'egress'): string {
  return `${clientLogGroupPrefix(project, env, client)}${fn}`;
}

/** DynamoDB table of the users of an environment in `lambda` identity mode. */
export function identityTableName(project: string, env: string): string {
  return `${project}-${env}-identity`;
}

/** Secrets Manager name of a user's FTPS password hash (`lambda` identity mode); never in the table or the config. */
export function passwordSecretName(project: string, env: string, userName: string): string {
  return `/${project}/${env}/identity/passwords/${userName}`;
}

/** CloudWatch log group of the identity function (`lambda` identity mode); encrypted with the environment key. */
export function identityLogGroupName(project: string, env: string): string {
  return `/sftpctl/${project}/${env}/identity`;
}
