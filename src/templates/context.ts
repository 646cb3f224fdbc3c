import { stackName } from '../core/config/naming.js';
import type { Config, Environment } from '../core/config/schema.js';
import { partitionOf } from './cfn.js';

/** What every renderer of one environment needs to know. */
export interface EnvContext {
  config: Config;
  project: string;
  env: Environment;
  partition: string;
  stacks: { assets: string; network: string; server: string };
}

export function envContext(config: Config, env: Environment): EnvContext {
  return {
    config,
    project: config.project,
    env,
    partition: partitionOf(env.region),
    stacks: {
      assets: stackName(config.project, env.name, 'assets'),
      network: stackName(config.project, env.name, 'network'),
      server: stackName(config.project, env.name, 'server'),
    },
  };
}

/** Output names: the contract between a stack and the stacks that take its outputs as parameters. */
export const OUTPUTS = {
  assets: {
    assetsBucket: 'AssetsBucketName',
    accessLogBucket: 'AccessLogBucketName',
    platformKeyArn: 'PlatformKeyArn',
    alarmTopicArn: 'AlarmTopicArn',
  },
  network: {
    vpcId: 'VpcId',
    subnetIds: 'SubnetIds',
    addressAllocationIds: 'AddressAllocationIds',
    publicIps: 'PublicIps',
    securityGroupId: 'SecurityGroupId',
  },
  server: {
    serverId: 'ServerId',
    serverArn: 'ServerArn',
    endpointHostName: 'EndpointHostName',
    publicIps: 'PublicIps',
    logGroup: 'LogGroupName',
    /** lambda mode only */
    identityTable: 'IdentityTableName',
    /** lambda mode only */
    identityFunction: 'IdentityFunctionName',
  },
} as const;
