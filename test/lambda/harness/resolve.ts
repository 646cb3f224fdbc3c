/**
 * Resolves the CloudFormation intrinsics of a rendered template as a deployment in one account would, so the
 * harness can run functions with the template's own environment and enforce the template's own role policies.
 * Anything it does not model throws: a value the harness would otherwise guess must not pass silently.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-2';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export function resolver(
  template: { Resources: Resources },
  parameters: Record<string, string>,
  endpoints: { sqs?: string } = {},
  /** Attributes only a deployment knows (`Vpc.DefaultSecurityGroup`), by `LogicalId.Attribute`. */
  attributes: Record<string, string> = {},
) {
  const resources = template.Resources;
  const pseudo: Record<string, string> = {
    'AWS::AccountId': ACCOUNT,
    'AWS::Region': REGION,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'harness',
  };

  const ref = (id: string): string => {
    if (pseudo[id] !== undefined) return pseudo[id]!;
    if (parameters[id] !== undefined) return parameters[id]!;
    const resource = resources[id];
    if (!resource) throw new Error(`Ref ${id}: no such parameter or resource`);
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return String(props.BucketName);
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${String(props.Name).replace(/^\//, '')}-AbCdEf`;
      case 'AWS::SQS::Queue':
        // The SDK sends queue calls to the queue URL's host: in the harness, the fake SQS endpoint.
        return `${endpoints.sqs ?? `https://sqs.${REGION}.amazonaws.com`}/${ACCOUNT}/${id}`;
      case 'AWS::Logs::LogGroup':
        return String(props.LogGroupName);
      case 'AWS::Lambda::Function':
      case 'AWS::IAM::Role':
      case 'AWS::SNS::Topic':
      case 'AWS::KMS::Key':
        return id;
      default:
        return id;
    }
  };

  const getAtt = (id: string, attribute: string): string => {
    const resource = resources[id];
    if (!resource) throw new Error(`Fn::GetAtt ${id}.${attribute}: no such resource`);
    if (attributes[`${id}.${attribute}`] !== undefined) return attributes[`${id}.${attribute}`]!;
    const props = resource.Properties ?? {};
    if (attribute === 'Arn') {
      switch (resource.Type) {
        case 'AWS::S3::Bucket':
          return `arn:aws:s3:::${String(props.BucketName)}`;
        case 'AWS::SQS::Queue':
          return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
        case 'AWS::KMS::Key':
          return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
        case 'AWS::Logs::LogGroup':
          return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${String(props.LogGroupName)}:*`;
        case 'AWS::IAM::Role':
          return `arn:aws:iam::${ACCOUNT}:role/${id}`;
        case 'AWS::Lambda::Function':
          return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
        case 'AWS::Events::Rule':
          return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${id}`;
        case 'AWS::Scheduler::Schedule':
          return `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/default/${id}`;
        default:
          return `arn:aws:${resource.Type.split('::')[1]!.toLowerCase()}:${REGION}:${ACCOUNT}:${id}`;
      }
    }
    if (attribute === 'QueueName' && resource.Type === 'AWS::SQS::Queue') return id;
    if (attribute === 'UserName') return String(props.UserName);
    throw new Error(`Fn::GetAtt ${id}.${attribute} is not modelled by the harness`);
  };

  const sub = (text: string, vars: Record<string, unknown> = {}): string =>
    text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (vars[name] !== undefined) return String(resolve(vars[name]));
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id, attribute] = name.split('.');
        return getAtt(id!, attribute!);
      }
      return ref(name);
    });

  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [name, arg] = entries[0]!;
      if (name === 'Ref') return ref(String(arg));
      if (name === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return getAtt(String(id), String(attribute));
      }
      if (name === 'Fn::Sub')
        return Array.isArray(arg) ? sub(String(arg[0]), arg[1] as Record<string, unknown>) : sub(String(arg));
      if (name === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(separator);
      }
      if (name.startsWith('Fn::')) throw new Error(`${name} is not modelled by the harness`);
    }
    return Object.fromEntries(entries.map(([key, inner]) => [key, resolve(inner)]));
  };

  return { resolve, ref, getAtt };
}
