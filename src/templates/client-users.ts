import { iamStatementsFor, type SftpRole } from '../core/permissions.js';
import { getAtt, type Intrinsic, ref, sub, type TemplateBuilder } from './cfn.js';

export interface UserOptions {
  role: SftpRole;
  userName: string;
  bucketName: string;
  bucketArn: string;
  keyId: string;
  serverId: Intrinsic;
  partition: string;
  description: string;
}

/**
 * A service-managed Transfer user chrooted to its bucket: LOGICAL home directory "/" → "/<bucket>", so the partner
 * sees neither the bucket name nor anything outside it. Its role grants exactly `permissionsFor(role)` (the model the
 * local server enforces too), and only Transfer acting for a user of this account's server may assume it.
 *
 * The user carries no `SshPublicKeys`: `sftpctl` imports and deletes keys through the Transfer API, so a key rotation
 * (new key imported, old one kept through a grace period) is never reverted by a later deploy. See docs/templates.md.
 */
export function addTransferUser(builder: TemplateBuilder, options: UserOptions): { user: string; role: string } {
  const role = addUserRole(builder, options, 'user');
  const user = builder.add(`${prefixOf(options.role)}User`, {
    Type: 'AWS::Transfer::User',
    Properties: {
      ServerId: options.serverId,
      UserName: options.userName,
      Role: getAtt(role, 'Arn'),
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryMappings: [{ Entry: '/', Target: `/${options.bucketName}` }],
    },
  });
  return { user, role };
}

const prefixOf = (role: SftpRole) => (role === 'upload' ? 'Upload' : 'Download');

/**
 * The IAM role of one user, granting exactly `permissionsFor(role)` on its bucket. Transfer assumes it for a session
 * of this account's server only: a service-managed user's session has the user's ARN (`user/<server>/*`) as its
 * source. For a user a custom identity provider (`lambda` mode) answers with, AWS documents no narrower form, so the
 * role accepts the server's own ARN as well: both name this server only.
 */
export function addUserRole(
  builder: TemplateBuilder,
  options: Omit<UserOptions, 'userName'>,
  assumedFor: 'user' | 'server',
): string {
  const arn = (resource: string) =>
    sub(`arn:${options.partition}:transfer:\${AWS::Region}:\${AWS::AccountId}:${resource}`, {
      ServerId: options.serverId,
    });
  const sourceArn =
    assumedFor === 'user' ? arn(`user/\${ServerId}/*`) : [arn(`user/\${ServerId}/*`), arn(`server/\${ServerId}`)];
  return builder.add(`${prefixOf(options.role)}UserRole`, {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: options.description,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'transfer.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: {
              StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
              ArnLike: { 'aws:SourceArn': sourceArn },
            },
          },
        ],
      },
      Policies: [
        {
          PolicyName: `${options.role}-home-bucket`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: iamStatementsFor(options.role, options.bucketArn, getAtt(options.keyId, 'Arn')),
          },
        },
      ],
    },
  });
}
