import { getAtt } from './cfn.js';

/**
 * The properties of a Lambda function's execution role: assumable by Lambda only, one inline policy named after the
 * function that lets it write to its own log group and do what `statements` grant — nothing else (no managed policy).
 */
export function functionRoleProperties(options: {
  description: string;
  policyName: string;
  /** Logical id of the function's log group. */
  logGroup: string;
  statements: readonly object[];
}) {
  return {
    Description: options.description,
    AssumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    Policies: [
      {
        PolicyName: options.policyName,
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'WriteOwnLogs',
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: [getAtt(options.logGroup, 'Arn')],
            },
            ...options.statements,
          ],
        },
      },
    ],
  };
}
