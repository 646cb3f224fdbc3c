import {
  BUCKET_PURPOSES,
  bucketName,
  bucketNameProblem,
  clientStackName,
  ENVIRONMENT_BUCKET_PURPOSES,
  environmentBucketName,
  stackName,
  TRANSFER_USER_NAME,
} from '../core/config/naming.js';
import { clientsInEnvironment } from '../core/config/resolve.js';
import type { Config } from '../core/config/schema.js';
import { isIntrinsic, type Template } from './cfn.js';

/** CloudFormation, IAM and service quotas checked at synth (defaults; most cannot be raised). */
export const LIMITS = {
  resources: 500,
  parameters: 200,
  outputs: 200,
  /** A template body sent inline; larger ones go to the assets bucket and are passed as TemplateURL. */
  inlineTemplateBytes: 51_200,
  /** A template in S3 (CloudFormation says "1 MB"; checked against the decimal megabyte to be safe). */
  s3TemplateBytes: 1_000_000,
  descriptionBytes: 1024,
  /** IAM counts policy characters without whitespace. */
  roleInlinePolicyChars: 10_240,
  trustPolicyChars: 2_048,
  managedPolicyChars: 6_144,
  bucketPolicyBytes: 20_480,
  queuePolicyBytes: 8_192,
  keyPolicyBytes: 32_768,
} as const;

export interface LimitFinding {
  rule: string;
  level: 'error' | 'warning';
  resource?: string;
  message: string;
}

/** How long an intrinsic's value can be, for policy size estimates: ARNs of this platform stay below 160. */
const PSEUDO_LENGTH: Record<string, number> = {
  'AWS::AccountId': 12,
  'AWS::Region': 14,
  'AWS::Partition': 10,
  'AWS::URLSuffix': 13,
};
const VALUE_LENGTH = 160;

function placeholder(length: number): string {
  return 'x'.repeat(length);
}

/** The value with every intrinsic replaced by a string as long as its value can be. */
function estimate(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(estimate);
  if (isIntrinsic(value)) {
    const [fn, argument] = Object.entries(value)[0]!;
    if (fn === 'Ref') return placeholder(PSEUDO_LENGTH[String(argument)] ?? VALUE_LENGTH);
    if (fn === 'Fn::Sub') {
      const text = Array.isArray(argument) ? String(argument[0]) : String(argument);
      return text.replace(/\$\{([^}!]+)\}/g, (_, variable: string) =>
        placeholder(PSEUDO_LENGTH[variable] ?? VALUE_LENGTH),
      );
    }
    return placeholder(VALUE_LENGTH);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, estimate(item)]));
  }
  return value;
}

/** Characters of a policy document as IAM counts them (no whitespace), with intrinsics at their longest. */
export function policyLength(document: unknown): number {
  return JSON.stringify(estimate(document)).length;
}

/** Counts and sizes of one rendered template. */
export function checkTemplateLimits(
  template: Template,
  bytes: number,
  options: { inlineOnly?: boolean } = {},
): LimitFinding[] {
  const found: LimitFinding[] = [];
  const resources = Object.keys(template.Resources).length;
  const parameters = Object.keys(template.Parameters ?? {}).length;
  const outputs = Object.keys(template.Outputs ?? {}).length;
  if (resources > LIMITS.resources) {
    found.push({
      rule: 'TEMPLATE_RESOURCES',
      level: 'error',
      message: `${resources} resources; CloudFormation allows ${LIMITS.resources}`,
    });
  }
  if (parameters > LIMITS.parameters) {
    found.push({
      rule: 'TEMPLATE_PARAMETERS',
      level: 'error',
      message: `${parameters} parameters; CloudFormation allows ${LIMITS.parameters}`,
    });
  }
  if (outputs > LIMITS.outputs) {
    found.push({
      rule: 'TEMPLATE_OUTPUTS',
      level: 'error',
      message: `${outputs} outputs; CloudFormation allows ${LIMITS.outputs}`,
    });
  }
  if (Buffer.byteLength(template.Description, 'utf8') > LIMITS.descriptionBytes) {
    found.push({
      rule: 'TEMPLATE_DESCRIPTION',
      level: 'error',
      message: `description is over ${LIMITS.descriptionBytes} bytes`,
    });
  }
  if (bytes > LIMITS.s3TemplateBytes) {
    found.push({
      rule: 'TEMPLATE_SIZE',
      level: 'error',
      message: `template is ${bytes} bytes; CloudFormation accepts at most ${LIMITS.s3TemplateBytes} from S3`,
    });
  } else if (options.inlineOnly && bytes > LIMITS.inlineTemplateBytes) {
    found.push({
      rule: 'TEMPLATE_SIZE',
      level: 'error',
      message: `template is ${bytes} bytes; it creates the assets bucket, so it must fit inline (${LIMITS.inlineTemplateBytes})`,
    });
  }

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = (resource.Properties ?? {}) as Record<string, unknown>;
    const check = (rule: string, what: string, length: number, limit: number) => {
      if (length > limit) {
        found.push({
          rule,
          level: 'error',
          resource: logicalId,
          message: `${what} is about ${length} characters; the limit is ${limit}`,
        });
      }
    };
    switch (resource.Type) {
      case 'AWS::IAM::Role': {
        const inline = ((props.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).reduce(
          (sum, policy) => sum + policyLength(policy.PolicyDocument),
          0,
        );
        check('IAM_POLICY_SIZE', 'inline policies', inline, LIMITS.roleInlinePolicyChars);
        check('IAM_POLICY_SIZE', 'trust policy', policyLength(props.AssumeRolePolicyDocument), LIMITS.trustPolicyChars);
        break;
      }
      case 'AWS::IAM::ManagedPolicy':
        check('IAM_POLICY_SIZE', 'managed policy', policyLength(props.PolicyDocument), LIMITS.managedPolicyChars);
        break;
      case 'AWS::S3::BucketPolicy':
        check('RESOURCE_POLICY_SIZE', 'bucket policy', policyLength(props.PolicyDocument), LIMITS.bucketPolicyBytes);
        break;
      case 'AWS::SQS::QueuePolicy':
        check('RESOURCE_POLICY_SIZE', 'queue policy', policyLength(props.PolicyDocument), LIMITS.queuePolicyBytes);
        break;
      case 'AWS::KMS::Key':
        check('RESOURCE_POLICY_SIZE', 'key policy', policyLength(props.KeyPolicy), LIMITS.keyPolicyBytes);
        break;
      case 'AWS::S3::Bucket':
        if (typeof props.BucketName === 'string') {
          const problem = bucketNameProblem(props.BucketName);
          if (problem)
            found.push({
              rule: 'BUCKET_NAME',
              level: 'error',
              resource: logicalId,
              message: `bucket name "${props.BucketName}" ${problem}`,
            });
        }
        break;
      case 'AWS::Transfer::User':
        if (
          typeof props.UserName === 'string' &&
          (!TRANSFER_USER_NAME.test(props.UserName) || props.UserName.toLowerCase() === 'root')
        ) {
          found.push({
            rule: 'USER_NAME',
            level: 'error',
            resource: logicalId,
            message: `user name "${props.UserName}" is not valid for Transfer Family (3-100 of letters, digits, _ @ . -; not root)`,
          });
        }
        break;
    }
  }
  return found;
}

/**
 * Names that share one namespace across environments (bucket names are global, stack and alarm names per account
 * and region): `<project>-<env>-<client>` can collide when an environment name and a client name both have
 * hyphens (env "a" + client "b-c" vs env "a-b" + client "c"). Returns the collisions involving `env`, keyed by
 * the client stack (or environment stack) they belong to.
 */
export function checkNameCollisions(config: Config, env: string): Map<string, LimitFinding[]> {
  const owners = new Map<string, { env: string; stack: string; what: string }[]>();
  const claim = (name: string, owner: { env: string; stack: string; what: string }) => {
    const list = owners.get(name) ?? [];
    list.push(owner);
    owners.set(name, list);
  };
  for (const envName of Object.keys(config.environments)) {
    for (const purpose of ENVIRONMENT_BUCKET_PURPOSES) {
      claim(`bucket:${environmentBucketName(config.project, envName, purpose)}`, {
        env: envName,
        stack: stackName(config.project, envName, 'assets'),
        what: `${purpose} bucket of environment ${envName}`,
      });
    }
    for (const part of ['assets', 'network', 'server'] as const) {
      claim(`stack:${stackName(config.project, envName, part)}`, {
        env: envName,
        stack: stackName(config.project, envName, part),
        what: `${part} stack of ${envName}`,
      });
    }
    for (const client of clientsInEnvironment(config, envName)) {
      const stack = clientStackName(config.project, envName, client.name);
      claim(`stack:${stack}`, { env: envName, stack, what: `stack of client ${client.name} in ${envName}` });
      for (const purpose of BUCKET_PURPOSES) {
        claim(`bucket:${bucketName(config.project, envName, client.name, purpose)}`, {
          env: envName,
          stack,
          what: `${purpose} bucket of client ${client.name} in ${envName}`,
        });
      }
    }
  }
  const found = new Map<string, LimitFinding[]>();
  for (const [key, list] of owners) {
    if (list.length < 2) continue;
    const [kind, name] = key.split(/:(.*)/s) as [string, string];
    for (const owner of list) {
      if (owner.env !== env) continue;
      const others = list.filter((other) => other !== owner).map((other) => other.what);
      const findings = found.get(owner.stack) ?? [];
      findings.push({
        rule: 'NAME_COLLISION',
        level: 'error',
        message: `${kind} name "${name}" of the ${owner.what} is also the name of the ${others.join(' and the ')}`,
      });
      found.set(owner.stack, findings);
    }
  }
  return found;
}
