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

/** CloudWatch Logs may encrypt log groups whose name starts with `logGroupPrefix`, in this account and region only. */
export function logsStatement(partition: string, logGroupPrefix: string): KeyPolicyStatement {
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
        'kms:EncryptionContext:aws:logs:arn': sub(
          `arn:${partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroupPrefix}*`,
        ),
      },
    },
  };
}

/**
 * An AWS service that sends messages to a queue encrypted with this key (S3 event notifications, EventBridge):
 * the AWS-managed SQS key cannot be used for that, a customer key must grant the service explicitly. This is AWS's
 * documented statement, without source conditions: SQS makes the KMS call, and whether it passes the sender's
 * aws:SourceArn/aws:SourceAccount on is not documented — a condition that is absent would silently drop every
 * event. Which bucket or rule may send is enforced by the queue policy (aws:SourceArn), the key only encrypts.
 */
export function serviceSendsToQueueStatement(sid: string, service: string): KeyPolicyStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: service },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: '*',
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
