import { ref, sub, type TemplateBuilder } from './cfn.js';

/** A key policy statement (KMS key policies use `Resource: "*"`, meaning the key itself). */
export interface KeyPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: unknown } | { Service: unknown };
  Action: string | string[];
  Resource: '*';
  Condition?: Record<string, Record<string, unknown>>;
}

/** The account administers the key through IAM, as in AWS's default key policy; nobody else is named. */
function accountStatement(partition: string): KeyPolicyStatement {
  return {
    Sid: 'AccountAdministersKeyThroughIam',
    Effect: 'Allow',
    Principal: { AWS: sub(`arn:${partition}:iam::\${AWS::AccountId}:root`) },
    Action: 'kms:*',
    Resource: '*',
  };
}

/** CloudWatch Logs may encrypt log groups whose name starts with a `logGroupPrefix`, in this account and region only. */
export function logsStatement(partition: string, ...logGroupPrefixes: string[]): KeyPolicyStatement {
  const arns = logGroupPrefixes.map((prefix) =>
    sub(`arn:${partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${prefix}*`),
  );
  return {
    Sid: 'CloudWatchLogsEncryptsOwnLogGroups',
    Effect: 'Allow',
    Principal: { Service: sub(`logs.\${AWS::Region}.\${AWS::URLSuffix}`) },
    Action: [
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
    ],
    Resource: '*',
    Condition: {
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': arns.length === 1 ? arns[0] : arns,
      },
    },
  };
}

/**
 * An AWS service that sends messages to a queue encrypted with this key (S3 event notifications, EventBridge): the
 * AWS-managed SQS key cannot be used for that, a customer key must grant the service explicitly. Scoped as AWS's
 * confused-deputy guidance asks: only on behalf of this account (aws:SourceAccount) and of the named source
 * (aws:SourceArn, `source`). The queue policy names the exact sender as well.
 */
export function serviceSendsToQueueStatement(
  sid: string,
  service: string,
  source: Record<string, Record<string, unknown>>,
): KeyPolicyStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: service },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: '*',
    Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') }, ...source },
  };
}

/**
 * CloudWatch alarms of this account publish to an SNS topic encrypted with this key: SNS asks KMS on CloudWatch's
 * behalf, so the key must let cloudwatch.amazonaws.com generate data keys (AWS's documented statement for alarms
 * to encrypted topics), here only for this account's alarms.
 */
export function alarmsPublishStatement(partition: string): KeyPolicyStatement {
  return {
    Sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
    Effect: 'Allow',
    Principal: { Service: 'cloudwatch.amazonaws.com' },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    Resource: '*',
    Condition: {
      StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
      ArnLike: { 'aws:SourceArn': sub(`arn:${partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:*`) },
    },
  };
}

/** A customer managed key with yearly rotation, retained with the data it protects, and its alias. */
export function addKey(
  builder: TemplateBuilder,
  options: {
    logicalId: string;
    description: string;
    alias: string;
    partition: string;
    statements: KeyPolicyStatement[];
  },
): string {
  const id = builder.add(options.logicalId, {
    Type: 'AWS::KMS::Key',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      Description: options.description,
      EnableKeyRotation: true,
      PendingWindowInDays: 30,
      KeyPolicy: { Version: '2012-10-17', Statement: [accountStatement(options.partition), ...options.statements] },
    },
  });
  builder.add(`${options.logicalId}Alias`, {
    Type: 'AWS::KMS::Alias',
    Properties: { AliasName: options.alias, TargetKeyId: ref(id) },
  });
  return id;
}
