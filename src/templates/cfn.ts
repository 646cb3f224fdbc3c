/**
 * A tiny typed layer over CloudFormation templates: the template shape, intrinsic functions, and a builder that
 * refuses duplicate logical ids. Values stay plain JSON objects so the rule set, the limits check and the serializer
 * can walk them without knowing how they were built.
 */

export type Intrinsic =
  | { Ref: string }
  | { 'Fn::GetAtt': [string, string] }
  | { 'Fn::Sub': string | [string, Record<string, unknown>] }
  | { 'Fn::Join': [string, unknown[] | Intrinsic] }
  | { 'Fn::Select': [number, unknown] }
  | { 'Fn::GetAZs': string };

export interface Resource {
  Type: string;
  DependsOn?: string[];
  DeletionPolicy?: 'Delete' | 'Retain' | 'RetainExceptOnCreate';
  UpdateReplacePolicy?: 'Delete' | 'Retain';
  Metadata?: Record<string, unknown>;
  Properties?: Record<string, unknown>;
}

export interface Parameter {
  Type: string;
  Description: string;
  AllowedPattern?: string;
  MinLength?: number;
}

export interface Output {
  Description: string;
  Value: unknown;
}

export interface Template {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Parameters?: Record<string, Parameter>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, Output>;
}

export type StackKind = 'assets' | 'network' | 'server' | 'client';

/** Where the CLI gets a parameter's value at deploy time: never `Fn::ImportValue`. */
export type ParameterSource =
  /** An output of a stack deployed earlier. */
  | { from: 'output'; stack: string; output: string }
  /** The S3 key of a function bundle the CLI uploads to the assets bucket before deploying. */
  | { from: 'artifact'; artifact: FunctionArtifactName };

/** The function bundles a template may take, each named after its bundle in dist/lambda (`<bundle>.zip`). */
export const FUNCTION_ARTIFACT_BUNDLES = {
  'ingress-function': 'ingress',
  'egress-function': 'egress',
  'identity-function': 'identity',
  'close-default-sg-function': 'close-default-sg',
} as const;
export type FunctionArtifactName = keyof typeof FUNCTION_ARTIFACT_BUNDLES;

export const ref = (name: string): Intrinsic => ({ Ref: name });
export const getAtt = (logicalId: string, attribute: string): Intrinsic => ({ 'Fn::GetAtt': [logicalId, attribute] });
export const sub = (text: string, variables?: Record<string, unknown>): Intrinsic =>
  variables ? { 'Fn::Sub': [text, variables] } : { 'Fn::Sub': text };
export const join = (separator: string, parts: unknown[] | Intrinsic): Intrinsic => ({
  'Fn::Join': [separator, parts],
});
export const select = (index: number, list: unknown): Intrinsic => ({ 'Fn::Select': [index, list] });
export const getAZs = (): Intrinsic => ({ 'Fn::GetAZs': '' });

export function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}

/** The ARN partition of a region: what `${AWS::Partition}` would say, known at synth time. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

export function s3BucketArn(partition: string, bucket: string): string {
  return `arn:${partition}:s3:::${bucket}`;
}

const LOGICAL_ID = /^[A-Za-z0-9]{1,255}$/;

/** Builds one template; logical ids must be unique and alphanumeric. */
export class TemplateBuilder {
  readonly template: Template;
  readonly parameterSources: Record<string, ParameterSource> = {};

  constructor(description: string) {
    this.template = { AWSTemplateFormatVersion: '2010-09-09', Description: description, Resources: {} };
  }

  parameter(name: string, parameter: Parameter, source: ParameterSource): Intrinsic {
    this.template.Parameters ??= {};
    this.claim(name, this.template.Parameters);
    if (name in this.template.Resources) throw new Error(`parameter ${name} is already a resource`);
    this.template.Parameters[name] = parameter;
    this.parameterSources[name] = source;
    return ref(name);
  }

  add(logicalId: string, resource: Resource): string {
    this.claim(logicalId, this.template.Resources);
    if (this.template.Parameters?.[logicalId]) throw new Error(`logical id ${logicalId} is already a parameter`);
    this.template.Resources[logicalId] = resource;
    return logicalId;
  }

  output(name: string, description: string, value: unknown): void {
    this.template.Outputs ??= {};
    this.claim(name, this.template.Outputs);
    this.template.Outputs[name] = { Description: description, Value: value };
  }

  private claim(name: string, into: Record<string, unknown>): void {
    if (!LOGICAL_ID.test(name)) throw new Error(`"${name}" is not a valid logical id`);
    if (name in into) throw new Error(`duplicate logical id ${name}`);
  }
}
