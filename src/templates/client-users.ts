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
  const prefix = options.role === 'upload' ? 'Upload' : 'Download';
  const role = builder.add(`${prefix}UserRole`, {
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
              ArnLike: {
                'aws:SourceArn': sub(
                  `arn:${options.partition}:transfer:\${AWS::Region}:\${AWS::AccountId}:user/\${ServerId}/*`,
                  {
                    ServerId: options.serverId,
                  },
                ),
              },
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
  const user = builder.add(`${prefix}User`, {
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
