import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  DeleteSshPublicKeyCommand,
  DescribeUserCommand,
  ImportSshPublicKeyCommand,
  TransferClient,
} from '@aws-sdk/client-transfer';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * Puts fake credentials in the environment, so the SDK's provider chain resolves without touching a real profile;
 * returns what puts the old values back.
 */
export function useFakeCredentials(): () => void {
  const credentials = { AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE', AWS_SECRET_ACCESS_KEY: 'fake' };
  const saved = Object.fromEntries(Object.keys(credentials).map((name) => [name, process.env[name]]));
  Object.assign(process.env, credentials);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * The AWS control plane for key and secret flows, faked with aws-sdk-client-mock: one account, one server stack, and
 * Transfer users whose SSH keys live in memory. Every call is logged in order, so tests can assert exact sequences.
 */
export function fakeAws(
  options: {
    account?: string;
    serverId?: string;
    /** false: leave CloudFormation to another fake (FakeCloudFormation). */
    cloudFormation?: boolean;
    /** Users exist as soon as asked for (as after their stack is created), without keys. */
    usersOnDemand?: boolean;
  } = {},
) {
  const restoreCredentials = useFakeCredentials();
  const log: { call: string; input: Record<string, unknown> }[] = [];
  const users = new Map<string, { id: string; body: string }[]>();
  const secrets = new Map<string, string[]>();
  const failures = new Map<string, Error>();
  let nextKey = 1;
  const record = (call: string, input: object) => {
    log.push({ call, input: input as Record<string, unknown> });
    const failure = failures.get(call);
    if (failure) {
      failures.delete(call);
      throw failure;
    }
  };

  const sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).callsFake((input) => {
    record('GetCallerIdentity', input);
    return { Account: options.account ?? '111122223333' };
  });
  const cfn = options.cloudFormation === false ? undefined : mockClient(CloudFormationClient);
  cfn?.on(DescribeStacksCommand).callsFake((input) => {
    record('DescribeStacks', input);
    return {
      Stacks: [
        {
          StackName: input.StackName,
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'ServerId', OutputValue: options.serverId ?? 's-0123456789abcdef0' }],
        },
      ],
    };
  });
  const transfer = mockClient(TransferClient);
  transfer.on(DescribeUserCommand).callsFake((input) => {
    record('DescribeUser', input);
    if (options.usersOnDemand && !users.has(input.UserName)) users.set(input.UserName, []);
    const keys = users.get(input.UserName);
    if (!keys) throw Object.assign(new Error('Unknown user'), { name: 'ResourceNotFoundException' });
    return {
      ServerId: input.ServerId,
      User: {
        Arn: 'arn',
        UserName: input.UserName,
        SshPublicKeys: keys.map((key) => ({
          SshPublicKeyId: key.id,
          SshPublicKeyBody: key.body,
          DateImported: new Date(),
        })),
      },
    };
  });
  transfer.on(ImportSshPublicKeyCommand).callsFake((input) => {
    record('ImportSshPublicKey', input);
    const id = `key-${nextKey++}`;
    users.get(input.UserName)?.push({ id, body: input.SshPublicKeyBody });
    return { ServerId: input.ServerId, UserName: input.UserName, SshPublicKeyId: id };
  });
  transfer.on(DeleteSshPublicKeyCommand).callsFake((input) => {
    record('DeleteSshPublicKey', input);
    users.set(
      input.UserName,
      (users.get(input.UserName) ?? []).filter((key) => key.id !== input.SshPublicKeyId),
    );
    return {};
  });
  const secretsManager = mockClient(SecretsManagerClient);
  secretsManager.on(PutSecretValueCommand).callsFake((input) => {
    record('PutSecretValue', input);
    const versions = secrets.get(input.SecretId);
    if (!versions)
      throw Object.assign(new Error(`Secrets Manager can't find the specified secret.`), {
        name: 'ResourceNotFoundException',
      });
    versions.push(input.SecretString);
    return { VersionId: `v${versions.length}` };
  });
  secretsManager.on(CreateSecretCommand).callsFake((input) => {
    record('CreateSecret', input);
    if (secrets.has(input.Name))
      throw Object.assign(new Error(`The operation failed because the secret ${input.Name} already exists.`), {
        name: 'ResourceExistsException',
      });
    secrets.set(input.Name, [input.SecretString]);
    return { Name: input.Name, VersionId: 'v1' };
  });
  secretsManager.on(DeleteSecretCommand).callsFake((input) => {
    record('DeleteSecret', input);
    if (!secrets.delete(input.SecretId))
      throw Object.assign(new Error(`Secrets Manager can't find the specified secret.`), {
        name: 'ResourceNotFoundException',
      });
    return { Name: input.SecretId };
  });

  return {
    log,
    calls: () => log.map((entry) => entry.call),
    users,
    secrets,
    /** The next call of this name fails with `error`. */
    failNext(call: string, error: Error) {
      failures.set(call, error);
    },
    addUser(userName: string, bodies: string[]) {
      users.set(
        userName,
        bodies.map((body) => ({ id: `key-${nextKey++}`, body })),
      );
    },
    restore() {
      for (const mock of [sts, cfn, transfer, secretsManager]) mock?.restore();
      restoreCredentials();
    },
  };
}
