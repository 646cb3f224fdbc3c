/**
 * An in-memory CloudFormation control plane behind the real SDK v3 client, for tests of the deploy engine. The
 * written spec is fake-cloudformation.md next to this file: statuses, state machine, events, errors, change sets,
 * the time model and failure injection. Deterministic: no timers, no randomness, a fake clock.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  AlreadyExistsException,
  type Change,
  ChangeSetNotFoundException,
  CloudFormationClient,
  type CloudFormationClientResolvedConfig,
  CloudFormationServiceException,
  ContinueUpdateRollbackCommand,
  type ContinueUpdateRollbackCommandInput,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  type DeleteChangeSetCommandInput,
  DeleteStackCommand,
  type DeleteStackCommandInput,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandInput,
  DescribeStackEventsCommand,
  type DescribeStackEventsCommandInput,
  DescribeStackResourcesCommand,
  type DescribeStackResourcesCommandInput,
  DescribeStacksCommand,
  type DescribeStacksCommandInput,
  ExecuteChangeSetCommand,
  type ExecuteChangeSetCommandInput,
  GetTemplateCommand,
  type GetTemplateCommandInput,
  InsufficientCapabilitiesException,
  InvalidChangeSetStatusException,
  ListChangeSetsCommand,
  type ListChangeSetsCommandInput,
  ListStacksCommand,
  type ListStacksCommandInput,
  type Parameter,
  type ResourceAttribute,
  type ResourceChangeDetail,
  type ResourceStatus,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type Stack,
  type StackEvent,
  type Tag,
  UpdateTerminationProtectionCommand,
  type UpdateTerminationProtectionCommandInput,
} from '@aws-sdk/client-cloudformation';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { parseDocument } from 'yaml';
import { loadResourceSpec, type ResourceSpec } from './cfn-schema.js';

export interface FakeCloudFormationOptions {
  /** Output values by output key for every stack that declares that output. Default: `fake-<OutputKey>-<stackName>`. */
  outputs?: Record<string, string>;
  /** Resolves a TemplateURL to the template body (tests read it from a real S3 server). Default: throws ValidationError. */
  fetchTemplate?: (url: string) => string | Promise<string>;
  /** Stack events per DescribeStackEvents page (default 10) and change-set changes per DescribeChangeSet page (default 10), to exercise pagination. */
  pageSize?: number;
  /** Region and account in stack and change-set ARNs. Default eu-west-2, 123456789012. */
  region?: string;
  account?: string;
}

export interface FakeCall {
  action: string;
  input: Record<string, unknown>;
}

export interface SeedState {
  status: string;
  statusReason?: string;
  templateBody?: string;
  parameters?: Record<string, string>;
  tags?: Record<string, string>;
  terminationProtection?: boolean;
}

export interface FakeStackSnapshot {
  stackId: string;
  status: string;
  statusReason?: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  terminationProtection: boolean;
  outputs: Record<string, string>;
  resources: Record<string, { type: string; status: string; physicalId: string }>;
  templateBody?: string;
  changeSets: string[];
}

export type FakeCloudFormationStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, CloudFormationClientResolvedConfig>;

// ---------------------------------------------------------------------------------------------------------------
// Templates

type Json = Record<string, unknown>;

interface ParameterDeclaration {
  Type: string;
  Default?: unknown;
  AllowedPattern?: string;
  AllowedValues?: unknown[];
  MinLength?: number | string;
  MaxLength?: number | string;
  MinValue?: number | string;
  MaxValue?: number | string;
  ConstraintDescription?: string;
  NoEcho?: boolean | string;
}

interface ResourceDeclaration {
  Type: string;
  Properties?: Json;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: unknown;
  CreationPolicy?: unknown;
  UpdatePolicy?: unknown;
}

interface Template {
  Description?: string;
  Parameters: Record<string, ParameterDeclaration>;
  Resources: Record<string, ResourceDeclaration>;
  Outputs: Record<string, { Description?: string; Value: unknown }>;
}

const INLINE_TEMPLATE_BYTES = 51_200;
const URL_TEMPLATE_BYTES = 1_000_000;
const PSEUDO_PARAMETER = /^AWS::/;
const NAME_PATTERN = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function parseTemplate(body: string): Template {
  let parsed: unknown;
  if (body.trimStart().startsWith('{')) {
    try {
      parsed = JSON.parse(body);
    } catch {
      throw validationError('Template format error: JSON not well-formed.');
    }
  } else {
    const document = parseDocument(body);
    const error = document.errors[0];
    if (error) {
      const at = error.linePos?.[0];
      throw validationError(`Template format error: YAML not well-formed. (line ${at?.line}, column ${at?.col})`);
    }
    if (document.warnings.some((warning) => warning.code === 'TAG_RESOLVE_FAILED'))
      throw notModelled('short-form YAML intrinsics (!Ref, !Sub...): use the long form (Ref:, Fn::Sub:)');
    parsed = document.toJS();
  }
  if (!isObject(parsed)) throw validationError('Template format error: unsupported structure.');
  for (const section of ['Conditions', 'Transform', 'Rules'])
    if (section in parsed) throw notModelled(`the template section ${section}`);
  const template: Template = {
    ...(typeof parsed.Description === 'string' ? { Description: parsed.Description } : {}),
    Parameters: (isObject(parsed.Parameters) ? parsed.Parameters : {}) as Template['Parameters'],
    Resources: (isObject(parsed.Resources) ? parsed.Resources : {}) as Template['Resources'],
    Outputs: (isObject(parsed.Outputs) ? parsed.Outputs : {}) as Template['Outputs'],
  };
  validateTemplate(template);
  return template;
}

function validateTemplate(template: Template): void {
  if (Object.keys(template.Resources).length === 0)
    throw validationError('Template format error: At least one Resources member must be defined.');
  for (const declaration of Object.values(template.Parameters)) {
    if (!isObject(declaration) || typeof declaration.Type !== 'string')
      throw validationError('Template format error: Every Parameters object must contain a Type member.');
  }
  const unknownTypes: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (!isObject(resource) || typeof resource.Type !== 'string')
      throw validationError(
        `Template format error: [/Resources/${logicalId}] Every Resources object must contain a Type member.`,
      );
    if ('Condition' in resource) throw notModelled('resource Conditions');
    if (!isKnownType(resource.Type)) unknownTypes.push(resource.Type);
  }
  if (unknownTypes.length > 0)
    throw validationError(`Template format error: Unrecognized resource types: [${unknownTypes.join(', ')}]`);
  const known = (name: string) =>
    PSEUDO_PARAMETER.test(name) || name in template.Parameters || name in template.Resources;
  for (const [block, values] of [
    ['Resources', Object.values(template.Resources)],
    ['Outputs', Object.values(template.Outputs)],
  ] as const) {
    const unresolved = new Set<string>();
    for (const value of values) {
      for (const name of references(value, 'ref')) if (!known(name)) unresolved.add(name);
      for (const name of references(value, 'getAtt')) {
        if (!(name in template.Resources))
          throw validationError(`Template error: instance of Fn::GetAtt references undefined resource ${name}`);
      }
      if (block === 'Resources')
        for (const name of dependsOn(value as ResourceDeclaration))
          if (!(name in template.Resources)) unresolved.add(name);
    }
    if (unresolved.size > 0)
      throw validationError(
        `Template format error: Unresolved resource dependencies [${[...unresolved].join(', ')}] in the ${block} block of the template`,
      );
  }
  deploymentOrder(template);
}

function isKnownType(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource' || schemaOf(type) !== undefined;
}

function dependsOn(resource: ResourceDeclaration): string[] {
  if (resource.DependsOn === undefined) return [];
  return typeof resource.DependsOn === 'string' ? [resource.DependsOn] : resource.DependsOn;
}

/** Names a value refers to: `Ref` and `${X}` in Fn::Sub ('ref'), or the resource of Fn::GetAtt and `${X.Attr}` ('getAtt'). */
function references(value: unknown, kind: 'ref' | 'getAtt' | 'any' = 'any'): Set<string> {
  const found = new Set<string>();
  const add = (name: string, how: 'ref' | 'getAtt') => {
    if (kind === 'any' || kind === how) found.add(name);
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!isObject(node)) return;
    if (typeof node.Ref === 'string') {
      add(node.Ref, 'ref');
      return;
    }
    const getAtt = node['Fn::GetAtt'];
    if (getAtt !== undefined) {
      const target = typeof getAtt === 'string' ? getAtt.split('.')[0] : Array.isArray(getAtt) ? getAtt[0] : undefined;
      if (typeof target === 'string') add(target, 'getAtt');
      return;
    }
    const sub = node['Fn::Sub'];
    if (sub !== undefined) {
      const [text, variables] = Array.isArray(sub) ? sub : [sub, {}];
      for (const match of String(text).matchAll(/\$\{([^}!][^}]*)\}/g)) {
        const name = match[1]!;
        if (isObject(variables) && name in variables) continue;
        const dot = name.indexOf('.');
        if (dot > 0 && !PSEUDO_PARAMETER.test(name)) add(name.slice(0, dot), 'getAtt');
        else add(name, 'ref');
      }
      walk(variables);
      return;
    }
    for (const item of Object.values(node)) walk(item);
  };
  walk(value);
  return found;
}

/** Resources ordered so every resource comes after what it depends on (DependsOn, Ref, GetAtt, Sub); ties keep template order. */
function deploymentOrder(template: Template): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (logicalId: string) => {
    if (state.get(logicalId) === 'done') return;
    if (state.get(logicalId) === 'visiting') {
      const cycle = path.slice(path.indexOf(logicalId));
      throw validationError(`Circular dependency between resources: [${cycle.join(', ')}]`);
    }
    state.set(logicalId, 'visiting');
    path.push(logicalId);
    const resource = template.Resources[logicalId]!;
    for (const dependency of [...dependsOn(resource), ...references(resource.Properties)])
      if (dependency in template.Resources && dependency !== logicalId) visit(dependency);
    path.pop();
    state.set(logicalId, 'done');
    order.push(logicalId);
  };
  for (const logicalId of Object.keys(template.Resources)) visit(logicalId);
  return order;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters and capabilities

function resolveParameters(
  template: Template,
  given: Parameter[] | undefined,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const declared = template.Parameters;
  const unknown = (given ?? []).map((p) => p.ParameterKey ?? '').filter((key) => !(key in declared));
  if (unknown.length > 0) throw validationError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const values: Record<string, string> = {};
  for (const parameter of given ?? []) {
    const key = parameter.ParameterKey!;
    if (parameter.UsePreviousValue) {
      const invalid = `Invalid input for parameter key ${key}.`;
      if (parameter.ParameterValue !== undefined)
        throw validationError(`${invalid} Cannot specify usePreviousValue as true and non empty value for a parameter`);
      if (previous === undefined)
        throw validationError(`${invalid} Cannot specify usePreviousValue as true when creating a stack`);
      if (!(key in previous))
        throw validationError(
          `${invalid} Cannot specify usePreviousValue as true for a parameter key not in the previous template`,
        );
      values[key] = previous[key]!;
    } else if (parameter.ParameterValue !== undefined) values[key] = parameter.ParameterValue;
  }
  const resolved: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, declaration] of Object.entries(declared)) {
    const value = values[key] ?? (declaration.Default === undefined ? undefined : String(declaration.Default));
    if (value === undefined) missing.push(key);
    else resolved[key] = value;
  }
  if (missing.length > 0) throw validationError(`Parameters: [${missing.join(', ')}] must have values`);
  for (const [key, value] of Object.entries(resolved)) checkConstraints(key, value, declared[key]!);
  return resolved;
}

function checkConstraints(key: string, value: string, declaration: ParameterDeclaration): void {
  if (declaration.Type !== 'String' && declaration.Type !== 'Number') return;
  const broken = constraintBroken(key, value, declaration);
  if (!broken) return;
  throw validationError(
    declaration.ConstraintDescription
      ? `Parameter '${key}' failed to satisfy constraint: ${declaration.ConstraintDescription}`
      : broken,
  );
}

function constraintBroken(key: string, value: string, declaration: ParameterDeclaration): string | undefined {
  const name = `Parameter '${key}'`;
  if (declaration.Type === 'Number') {
    const number = Number(value);
    if (value.trim() === '' || Number.isNaN(number)) return `${name} must be a number`;
    if (declaration.MinValue !== undefined && number < Number(declaration.MinValue))
      return `${name} must be a number not less than ${declaration.MinValue}`;
    if (declaration.MaxValue !== undefined && number > Number(declaration.MaxValue))
      return `${name} must be a number not greater than ${declaration.MaxValue}`;
  }
  // AllowedPattern must match the whole value, as in CloudFormation.
  if (declaration.AllowedPattern !== undefined && !new RegExp(`^(?:${declaration.AllowedPattern})$`).test(value))
    return `${name} must match pattern ${declaration.AllowedPattern}`;
  if (declaration.MinLength !== undefined && value.length < Number(declaration.MinLength))
    return `${name} must contain at least ${declaration.MinLength} characters`;
  if (declaration.MaxLength !== undefined && value.length > Number(declaration.MaxLength))
    return `${name} must contain at most ${declaration.MaxLength} characters`;
  if (declaration.AllowedValues !== undefined && !declaration.AllowedValues.map(String).includes(value))
    return `${name} must be one of AllowedValues`;
  return undefined;
}

/** IAM resource types that need an IAM capability, with the property that makes them "named". */
const IAM_NAME_PROPERTIES: Record<string, string | undefined> = {
  'AWS::IAM::AccessKey': undefined,
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Policy': undefined,
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::UserToGroupAddition': undefined,
};

function checkCapabilities(template: Template, capabilities: string[]): void {
  const iam = Object.values(template.Resources).filter((resource) => resource.Type in IAM_NAME_PROPERTIES);
  const named = iam.some((resource) => {
    const nameProperty = IAM_NAME_PROPERTIES[resource.Type];
    return nameProperty !== undefined && resource.Properties?.[nameProperty] !== undefined;
  });
  const required = named ? 'CAPABILITY_NAMED_IAM' : iam.length > 0 ? 'CAPABILITY_IAM' : undefined;
  if (required === undefined || capabilities.includes('CAPABILITY_NAMED_IAM') || capabilities.includes(required))
    return;
  throw new InsufficientCapabilitiesException({
    message: `Requires capabilities : [${required}]`,
    Message: `Requires capabilities : [${required}]`,
    $metadata: {},
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Resource schema facts (@aws-cdk/aws-service-spec, loaded by cfn-schema.ts)

type SchemaResource = ResourceSpec['resources'] extends Map<string, infer R> ? R : never;
type Recreation = 'Never' | 'Conditionally' | 'Always';

interface ResourceFacts {
  /** createOnly properties ('yes') and properties whose change may replace ('maybe'). */
  replacement: Record<string, 'yes' | 'maybe'>;
  taggable: boolean;
  /** The property holding the resource's name: BucketName, RoleName, QueueName, Name... */
  nameProperty?: string;
}

const factsCache = new Map<string, ResourceFacts | undefined>();

function schemaOf(type: string): ResourceFacts | undefined {
  if (factsCache.has(type)) return factsCache.get(type);
  const schema = loadResourceSpec().resources.get(type) as
    | (SchemaResource & { primaryIdentifier?: string[]; tagInformation?: unknown })
    | undefined;
  let facts: ResourceFacts | undefined;
  if (schema) {
    const replacement: ResourceFacts['replacement'] = {};
    for (const [name, property] of Object.entries(schema.properties)) {
      const causes = (property as { causesReplacement?: 'yes' | 'maybe' }).causesReplacement;
      if (causes) replacement[name] = causes;
    }
    const shortName = type.split('::')[2];
    const nameProperty = [schema.primaryIdentifier?.[0], `${shortName}Name`, 'Name'].find(
      (candidate) => candidate?.endsWith('Name') && schema.properties[candidate]?.type.type === 'string',
    );
    facts = { replacement, taggable: schema.tagInformation !== undefined, ...(nameProperty ? { nameProperty } : {}) };
  }
  factsCache.set(type, facts);
  return facts;
}

function recreationOf(type: string, property: string): Recreation {
  const causes = schemaOf(type)?.replacement[property];
  return causes === 'yes' ? 'Always' : causes === 'maybe' ? 'Conditionally' : 'Never';
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

function validationError(message: string): Error {
  return Object.assign(
    new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message }),
    { Type: 'Sender', Code: 'ValidationError' },
  );
}

function invalidChangeSetStatus(message: string): Error {
  return Object.assign(new InvalidChangeSetStatusException({ message, Message: message, $metadata: {} }), {
    Code: 'InvalidChangeSetStatus',
  });
}

function changeSetNotFound(name: string): Error {
  const message = `ChangeSet [${name}] does not exist`;
  return Object.assign(new ChangeSetNotFoundException({ message, Message: message, $metadata: {} }), {
    Code: 'ChangeSetNotFound',
  });
}

function notModelled(what: string): Error {
  return new Error(`FakeCloudFormation does not model ${what}`);
}

/** Throws for input members the fake would silently ignore, so a test notices an unmodelled feature. */
function accept(action: string, input: object, members: string): void {
  const known = members.split(' ');
  const extra = Object.entries(input).filter(([key, value]) => value !== undefined && !known.includes(key));
  if (extra.length > 0) throw notModelled(`${action} with ${extra.map(([key]) => key).join(', ')}`);
}

function required(value: string | undefined, member: string): string {
  if (!value)
    throw validationError(
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// State

/** What a stack is deployed from: everything a change set proposes and a rollback restores. */
interface Deployment {
  body: string;
  template: Template;
  parameters: Record<string, string>;
  tags: Record<string, string>;
}

interface LiveResource {
  type: string;
  status: string;
  physicalId: string;
  reason?: string;
  timestamp: Date;
  /** The declaration it was last deployed from (its DeletionPolicy decides what a delete does). */
  declaration: ResourceDeclaration;
}

interface PlannedChange {
  action: 'Add' | 'Modify' | 'Remove';
  logicalId: string;
  /** Modify only: the update creates a new physical resource. */
  replace: boolean;
  change: Change;
}

interface ChangeSetRecord {
  id: string;
  name: string;
  stack: StackRecord;
  type: 'CREATE' | 'UPDATE';
  status: string;
  executionStatus: string;
  reason?: string;
  created: Date;
  description?: string;
  deployment: Deployment;
  capabilities: string[];
  plan: PlannedChange[];
  creation?: Iterator<void>;
}

interface StackRecord {
  id: string;
  name: string;
  status: string;
  reason?: string;
  created: Date;
  updated?: Date;
  deleted?: Date;
  /** Undefined while REVIEW_IN_PROGRESS: such a stack has no template yet. */
  deployment?: Deployment;
  terminationProtection: boolean;
  capabilities: string[];
  changeSetId?: string;
  resources: Map<string, LiveResource>;
  /** Oldest first. */
  events: StackEvent[];
  changeSets: Map<string, ChangeSetRecord>;
  operation?: Iterator<void>;
  token?: string;
  /** ExecuteChangeSet's RetainExceptOnCreate: a rollback deletes what the operation created, Retain or not. */
  retainExceptOnCreate?: boolean;
  executing?: ChangeSetRecord;
}

interface InjectedFailure {
  logicalId: string;
  reason: string;
  rollbackFails?: boolean;
}

/** A physical resource a replacement superseded, deleted during cleanup. */
interface Replaced {
  logicalId: string;
  resource: LiveResource;
}

/** A resource an update touched, and what it was before, for a rollback. */
interface Touched {
  logicalId: string;
  added: boolean;
  before?: LiveResource;
}

const OUTPUT_STATUSES = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE']);
const UPDATABLE_STATUSES = new Set([
  ...'CREATE_COMPLETE UPDATE_COMPLETE UPDATE_ROLLBACK_COMPLETE CREATE_FAILED UPDATE_FAILED'.split(' '),
]);
const SEEDABLE_STATUSES = new Set([
  ...UPDATABLE_STATUSES,
  ...'REVIEW_IN_PROGRESS ROLLBACK_COMPLETE ROLLBACK_FAILED UPDATE_ROLLBACK_FAILED DELETE_FAILED CREATE_IN_PROGRESS ROLLBACK_IN_PROGRESS UPDATE_IN_PROGRESS UPDATE_COMPLETE_CLEANUP_IN_PROGRESS UPDATE_ROLLBACK_IN_PROGRESS UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS DELETE_IN_PROGRESS'.split(
    ' ',
  ),
]);
const NO_CHANGES =
  "The submitted information didn't contain changes. Submit different information to create a change set.";
const STACK_TYPE = 'AWS::CloudFormation::Stack';

const isBusy = (status: string) => status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS';
const tagList = (tags: Record<string, string>): Tag[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

export class FakeCloudFormation {
  /** Ordered log of every call: action name without "Command" and its input. */
  readonly calls: FakeCall[] = [];
  private readonly options: FakeCloudFormationOptions;
  private readonly pageSize: number;
  private clock = Date.parse('2026-01-01T00:00:00Z');
  /** Every stack ever created, deleted ones included, by stack id. */
  private readonly stacks = new Map<string, StackRecord>();
  /** Live (not deleted) stack ids by name. */
  private readonly liveIds = new Map<string, string>();
  private readonly updateFailures = new Map<string, InjectedFailure>();
  private readonly deleteFailures = new Map<string, InjectedFailure>();
  private serial = 0;

  constructor(options: FakeCloudFormationOptions = {}) {
    this.options = options;
    this.pageSize = options.pageSize ?? 10;
  }

  /** Wires every supported command onto mockClient(CloudFormationClient) and returns the mock. */
  install(): FakeCloudFormationStub {
    const mock = mockClient(CloudFormationClient);
    mock.onAnyCommand().callsFake(async (input: Record<string, unknown>) => {
      const action = (mock.send.lastCall?.args[0]?.constructor.name ?? 'Unknown').replace(/Command$/, '');
      this.record(action, input);
      throw notModelled(`the ${action} command`);
    });
    mock
      .on(CreateChangeSetCommand)
      .callsFake((input) => this.handle('CreateChangeSet', input, () => this.createChangeSet(input)))
      .on(DescribeChangeSetCommand)
      .callsFake((input) => this.handle('DescribeChangeSet', input, () => this.describeChangeSet(input)))
      .on(ExecuteChangeSetCommand)
      .callsFake((input) => this.handle('ExecuteChangeSet', input, () => this.executeChangeSet(input)))
      .on(DeleteChangeSetCommand)
      .callsFake((input) => this.handle('DeleteChangeSet', input, () => this.deleteChangeSet(input)))
      .on(ListChangeSetsCommand)
      .callsFake((input) => this.handle('ListChangeSets', input, () => this.listChangeSets(input)))
      .on(DescribeStacksCommand)
      .callsFake((input) => this.handle('DescribeStacks', input, () => this.describeStacks(input)))
      .on(DescribeStackEventsCommand)
      .callsFake((input) => this.handle('DescribeStackEvents', input, () => this.describeStackEvents(input)))
      .on(DescribeStackResourcesCommand)
      .callsFake((input) => this.handle('DescribeStackResources', input, () => this.describeStackResources(input)))
      .on(GetTemplateCommand)
      .callsFake((input) => this.handle('GetTemplate', input, () => this.getTemplate(input)))
      .on(ListStacksCommand)
      .callsFake((input) => this.handle('ListStacks', input, () => this.listStacks(input)))
      .on(DeleteStackCommand)
      .callsFake((input) => this.handle('DeleteStack', input, () => this.deleteStack(input)))
      .on(UpdateTerminationProtectionCommand)
      .callsFake((input) =>
        this.handle('UpdateTerminationProtection', input, () => this.updateTerminationProtection(input)),
      )
      .on(ContinueUpdateRollbackCommand)
      .callsFake((input) => this.handle('ContinueUpdateRollback', input, () => this.continueUpdateRollback(input)));
    return mock;
  }

  /** The next create/update operation of `stack` fails when it reaches resource `logicalId`, with `reason`. */
  failNext(stack: string, logicalId: string, reason: string, options: { rollbackFails?: boolean } = {}): void {
    this.updateFailures.set(stack, { logicalId, reason, ...options });
  }

  /** The next delete of `stack` fails at `logicalId` (DELETE_FAILED). */
  failDelete(stack: string, logicalId: string, reason: string): void {
    this.deleteFailures.set(stack, { logicalId, reason });
  }

  /** Puts a stack directly into a state; an *_IN_PROGRESS state then completes over the next steps. */
  seed(name: string, state: SeedState): void {
    if (!SEEDABLE_STATUSES.has(state.status)) throw notModelled(`seeding a stack in ${state.status}`);
    const review = state.status === 'REVIEW_IN_PROGRESS';
    if (review === (state.templateBody !== undefined))
      throw new Error(`seed: ${review ? 'a REVIEW_IN_PROGRESS stack has no template' : 'templateBody is required'}`);
    const previous = this.liveIds.get(name);
    if (previous) this.stacks.delete(previous);
    const stack = this.newStack(name);
    stack.terminationProtection = state.terminationProtection ?? false;
    if (state.templateBody !== undefined) {
      const template = parseTemplate(state.templateBody);
      stack.deployment = {
        body: state.templateBody,
        template,
        parameters: resolveParameters(template, parameterList(state.parameters ?? {}), undefined),
        tags: { ...(state.tags ?? {}) },
      };
      if (!['ROLLBACK_COMPLETE', 'CREATE_IN_PROGRESS'].includes(state.status)) {
        const resourceStatus = state.status.startsWith('UPDATE_') ? 'UPDATE_COMPLETE' : 'CREATE_COMPLETE';
        for (const logicalId of deploymentOrder(template)) this.putResource(stack, logicalId, resourceStatus);
      }
    }
    this.setStatus(stack, state.status, state.statusReason);
    if (isBusy(state.status)) stack.operation = this.resumeSeeded(stack);
  }

  /** Snapshot of a live (not deleted) stack, by name or stack id, or undefined. */
  stack(name: string): FakeStackSnapshot | undefined {
    const stack = this.lookup(name);
    if (!stack || stack.deleted) return undefined;
    return {
      stackId: stack.id,
      status: stack.status,
      ...(stack.reason !== undefined ? { statusReason: stack.reason } : {}),
      parameters: { ...(stack.deployment?.parameters ?? {}) },
      tags: { ...(stack.deployment?.tags ?? {}) },
      terminationProtection: stack.terminationProtection,
      outputs: Object.fromEntries(this.outputsOf(stack).map((output) => [output.OutputKey, output.OutputValue])),
      resources: Object.fromEntries(
        [...stack.resources].map(([logicalId, resource]) => [
          logicalId,
          { type: resource.type, status: resource.status, physicalId: resource.physicalId },
        ]),
      ),
      ...(stack.deployment ? { templateBody: stack.deployment.body } : {}),
      changeSets: [...stack.changeSets.keys()],
    };
  }

  /** Runs steps until no operation or change-set creation is in progress (for test setup). */
  settle(): void {
    for (let steps = 0; this.anythingInProgress(); steps++) {
      if (steps > 10_000) throw new Error('FakeCloudFormation.settle: operations never finish');
      this.tick();
    }
  }

  /** The fake clock: 2026-01-01T00:00:00Z plus one second per step. */
  now(): Date {
    return new Date(this.clock);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Commands

  private async handle<I extends object, O>(action: string, input: I, run: () => O | Promise<O>): Promise<O> {
    this.record(action, input);
    return run();
  }

  private record(action: string, input: object): void {
    this.calls.push({ action, input: structuredClone(input) as Record<string, unknown> });
  }

  private async createChangeSet(input: CreateChangeSetCommandInput) {
    accept(
      'CreateChangeSet',
      input,
      'StackName ChangeSetName ChangeSetType TemplateBody TemplateURL UsePreviousTemplate Parameters Capabilities Tags Description RoleARN NotificationARNs ClientToken',
    );
    const stackName = required(input.StackName, 'stackName');
    const name = required(input.ChangeSetName, 'changeSetName');
    checkName(name, 'changeSetName');
    const type = input.ChangeSetType ?? 'UPDATE';
    if (type !== 'CREATE' && type !== 'UPDATE') throw notModelled(`ChangeSetType ${type}`);
    const existing = this.live(stackName);
    if (type === 'CREATE') {
      checkName(stackName, 'stackName');
      if (existing && existing.status !== 'REVIEW_IN_PROGRESS')
        throw validationError(
          `Stack [${stackName}] already exists and cannot be created again with the changeSet [${name}].`,
        );
    } else {
      if (!existing) throw validationError(`Stack [${stackName}] does not exist`);
      if (!UPDATABLE_STATUSES.has(existing.status))
        throw validationError(`Stack:${existing.id} is in ${existing.status} state and can not be updated.`);
    }
    if (existing?.changeSets.has(name)) {
      const message = `ChangeSet [${name}] already exists`;
      throw new AlreadyExistsException({ message, Message: message, $metadata: {} });
    }
    const previous = type === 'UPDATE' ? existing!.deployment! : undefined;
    const body = await this.templateBody(input, previous);
    const template = parseTemplate(body);
    const parameters = resolveParameters(template, input.Parameters, previous?.parameters);
    checkCapabilities(template, input.Capabilities ?? []);
    const tags = input.Tags === undefined ? { ...(previous?.tags ?? {}) } : tagMap(input.Tags);
    const stack = existing ?? this.createReviewStack(stackName);
    const changeSet: ChangeSetRecord = {
      id: this.arn(`changeSet/${name}`),
      name,
      stack,
      type,
      status: 'CREATE_PENDING',
      executionStatus: 'UNAVAILABLE',
      created: this.now(),
      ...(input.Description !== undefined ? { description: input.Description } : {}),
      deployment: { body, template, parameters, tags },
      capabilities: [...(input.Capabilities ?? [])],
      plan: [],
    };
    changeSet.creation = this.computeChangeSet(changeSet, previous);
    stack.changeSets.set(name, changeSet);
    return { Id: changeSet.id, StackId: stack.id };
  }

  private async templateBody(input: CreateChangeSetCommandInput, previous: Deployment | undefined): Promise<string> {
    const sources = [input.TemplateBody, input.TemplateURL, input.UsePreviousTemplate || undefined].filter(
      (source) => source !== undefined,
    );
    if (sources.length === 0) throw validationError('Either Template URL or Template Body must be specified.');
    if (sources.length > 1)
      throw validationError('Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate.');
    if (input.UsePreviousTemplate) {
      if (!previous) throw validationError('UsePreviousTemplate can only be used to update an existing stack.');
      return previous.body;
    }
    if (input.TemplateBody !== undefined) {
      if (Buffer.byteLength(input.TemplateBody, 'utf8') > INLINE_TEMPLATE_BYTES)
        throw validationError(
          `1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to ${INLINE_TEMPLATE_BYTES}`,
        );
      return input.TemplateBody;
    }
    const body = await this.fetch(input.TemplateURL!);
    if (Buffer.byteLength(body, 'utf8') > URL_TEMPLATE_BYTES)
      throw validationError(`Template may not exceed ${URL_TEMPLATE_BYTES} bytes in size.`);
    return body;
  }

  private async fetch(url: string): Promise<string> {
    if (!this.options.fetchTemplate)
      throw validationError('TemplateURL must reference a valid S3 object to which you have access.');
    try {
      return await this.options.fetchTemplate(url);
    } catch (error) {
      if ((error as Error).name === 'ValidationError') throw error;
      throw validationError(`S3 error: ${(error as Error).message}`);
    }
  }

  private describeChangeSet(input: DescribeChangeSetCommandInput) {
    accept('DescribeChangeSet', input, 'ChangeSetName StackName NextToken');
    this.tick();
    const changeSet = this.findChangeSet(input.ChangeSetName, input.StackName);
    const changes = changeSet.plan.map((planned) => planned.change);
    const start = input.NextToken === undefined ? 0 : decodeToken(input.NextToken, changeSet.id);
    const end = start + this.pageSize;
    return {
      ChangeSetName: changeSet.name,
      ChangeSetId: changeSet.id,
      StackId: changeSet.stack.id,
      StackName: changeSet.stack.name,
      ...(changeSet.description !== undefined ? { Description: changeSet.description } : {}),
      Parameters: this.parameterList(changeSet.deployment),
      CreationTime: changeSet.created,
      ExecutionStatus: changeSet.executionStatus,
      Status: changeSet.status,
      ...(changeSet.reason !== undefined ? { StatusReason: changeSet.reason } : {}),
      Capabilities: changeSet.capabilities,
      Tags: tagList(changeSet.deployment.tags),
      Changes: changes.slice(start, end),
      ...(end < changes.length ? { NextToken: encodeToken(changeSet.id, end) } : {}),
    };
  }

  private executeChangeSet(input: ExecuteChangeSetCommandInput) {
    accept(
      'ExecuteChangeSet',
      input,
      'ChangeSetName StackName ClientRequestToken DisableRollback RetainExceptOnCreate',
    );
    if (input.DisableRollback) throw notModelled('ExecuteChangeSet with DisableRollback');
    const changeSet = this.findChangeSet(input.ChangeSetName, input.StackName);
    if (changeSet.status !== 'CREATE_COMPLETE')
      throw invalidChangeSetStatus(
        `ChangeSet [${changeSet.id}] cannot be executed in its current status of [${changeSet.status}]`,
      );
    if (changeSet.executionStatus !== 'AVAILABLE')
      throw invalidChangeSetStatus(
        `ChangeSet [${changeSet.id}] cannot be executed in its current execution status of [${changeSet.executionStatus}]`,
      );
    const stack = changeSet.stack;
    for (const other of [...stack.changeSets.keys()]) if (other !== changeSet.name) stack.changeSets.delete(other);
    const previous = stack.deployment;
    stack.deployment = changeSet.deployment;
    stack.capabilities = changeSet.capabilities;
    stack.changeSetId = changeSet.id;
    stack.executing = changeSet;
    stack.token = input.ClientRequestToken;
    stack.retainExceptOnCreate = input.RetainExceptOnCreate === true;
    changeSet.executionStatus = 'EXECUTE_IN_PROGRESS';
    const failure = this.updateFailures.get(stack.name);
    this.updateFailures.delete(stack.name);
    if (changeSet.type === 'CREATE') {
      this.setStatus(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
      stack.operation = this.createOperation(stack, failure);
    } else {
      stack.updated = this.now();
      this.setStatus(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
      stack.operation = this.updateOperation(stack, previous!, changeSet.plan, failure);
    }
    return {};
  }

  private deleteChangeSet(input: DeleteChangeSetCommandInput) {
    accept('DeleteChangeSet', input, 'ChangeSetName StackName');
    const changeSet = this.findChangeSet(input.ChangeSetName, input.StackName);
    if (changeSet.status === 'CREATE_PENDING' || changeSet.status === 'CREATE_IN_PROGRESS')
      throw invalidChangeSetStatus(`Cannot delete ChangeSet in status ${changeSet.status}`);
    if (isBusy(changeSet.stack.status))
      throw invalidChangeSetStatus(
        'An operation on this ChangeSet is currently in progress.  Please attempt this operation again later.',
      );
    changeSet.stack.changeSets.delete(changeSet.name);
    return {};
  }

  private listChangeSets(input: ListChangeSetsCommandInput) {
    accept('ListChangeSets', input, 'StackName');
    const name = required(input.StackName, 'stackName');
    const stack = this.live(name);
    if (!stack) throw validationError(`Stack [${name}] does not exist`);
    return {
      Summaries: [...stack.changeSets.values()].map((changeSet) => ({
        StackId: stack.id,
        StackName: stack.name,
        ChangeSetId: changeSet.id,
        ChangeSetName: changeSet.name,
        ExecutionStatus: changeSet.executionStatus,
        Status: changeSet.status,
        ...(changeSet.reason !== undefined ? { StatusReason: changeSet.reason } : {}),
        CreationTime: changeSet.created,
        ...(changeSet.description !== undefined ? { Description: changeSet.description } : {}),
      })),
    };
  }

  private describeStacks(input: DescribeStacksCommandInput) {
    accept('DescribeStacks', input, 'StackName');
    this.tick();
    if (input.StackName === undefined)
      return { Stacks: [...this.liveIds.values()].map((id) => this.describe(this.stacks.get(id)!)) };
    const stack = this.lookup(input.StackName);
    if (!stack) throw validationError(`Stack with id ${input.StackName} does not exist`);
    return { Stacks: [this.describe(stack)] };
  }

  private describe(stack: StackRecord): Stack {
    const outputs = this.outputsOf(stack);
    return {
      StackId: stack.id,
      StackName: stack.name,
      ...(stack.changeSetId ? { ChangeSetId: stack.changeSetId } : {}),
      ...(stack.deployment?.template.Description !== undefined
        ? { Description: stack.deployment.template.Description }
        : {}),
      Parameters: stack.deployment ? this.parameterList(stack.deployment) : [],
      CreationTime: stack.created,
      ...(stack.updated ? { LastUpdatedTime: stack.updated } : {}),
      ...(stack.deleted ? { DeletionTime: stack.deleted } : {}),
      StackStatus: stack.status as Stack['StackStatus'],
      ...(stack.reason !== undefined ? { StackStatusReason: stack.reason } : {}),
      DisableRollback: false,
      NotificationARNs: [],
      Capabilities: stack.capabilities as Stack['Capabilities'],
      ...(outputs.length > 0 ? { Outputs: outputs } : {}),
      Tags: tagList(stack.deployment?.tags ?? {}),
      EnableTerminationProtection: stack.terminationProtection,
      DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
    };
  }

  private describeStackEvents(input: DescribeStackEventsCommandInput) {
    accept('DescribeStackEvents', input, 'StackName NextToken');
    this.tick();
    const name = required(input.StackName, 'stackName');
    const stack = this.lookup(name);
    if (!stack) throw validationError(`Stack [${name}] does not exist`);
    // Newest first; the token is the index of the next older event, so events added between pages shift nothing.
    const newest = input.NextToken === undefined ? stack.events.length - 1 : decodeToken(input.NextToken, stack.id);
    const oldest = Math.max(0, newest - this.pageSize + 1);
    return {
      StackEvents: stack.events
        .slice(oldest, newest + 1)
        .reverse()
        .map((event) => ({ ...event })),
      ...(oldest > 0 ? { NextToken: encodeToken(stack.id, oldest - 1) } : {}),
    };
  }

  private describeStackResources(input: DescribeStackResourcesCommandInput) {
    accept('DescribeStackResources', input, 'StackName LogicalResourceId');
    const name = required(input.StackName, 'stackName');
    const stack = this.lookup(name);
    if (!stack) throw validationError(`Stack with id ${name} does not exist`);
    return {
      StackResources: [...stack.resources]
        .filter(([logicalId]) => input.LogicalResourceId === undefined || logicalId === input.LogicalResourceId)
        .map(([logicalId, resource]) => ({
          StackName: stack.name,
          StackId: stack.id,
          LogicalResourceId: logicalId,
          PhysicalResourceId: resource.physicalId,
          ResourceType: resource.type,
          Timestamp: resource.timestamp,
          ResourceStatus: resource.status as ResourceStatus,
          ...(resource.reason !== undefined ? { ResourceStatusReason: resource.reason } : {}),
        })),
    };
  }

  /** Live and deleted stacks, newest first, filtered by status; one page (the fake holds few stacks). */
  private listStacks(input: ListStacksCommandInput) {
    accept('ListStacks', input, 'StackStatusFilter NextToken');
    const filter = input.StackStatusFilter;
    return {
      StackSummaries: [...this.stacks.values()]
        .filter((stack) => !filter || filter.length === 0 || (filter as string[]).includes(stack.status))
        .reverse()
        .map((stack) => ({
          StackId: stack.id,
          StackName: stack.name,
          StackStatus: stack.status as Stack['StackStatus'],
          CreationTime: stack.created,
          ...(stack.deleted ? { DeletionTime: stack.deleted } : {}),
        })),
    };
  }

  private getTemplate(input: GetTemplateCommandInput) {
    accept('GetTemplate', input, 'StackName ChangeSetName TemplateStage');
    if (input.ChangeSetName !== undefined) {
      const changeSet = this.findChangeSet(input.ChangeSetName, input.StackName);
      return { TemplateBody: changeSet.deployment.body, StagesAvailable: ['Original', 'Processed'] as const };
    }
    const name = required(input.StackName, 'stackName');
    const stack = this.lookup(name);
    if (!stack) throw validationError(`Stack with id ${name} does not exist`);
    return {
      ...(stack.deployment ? { TemplateBody: stack.deployment.body } : {}),
      StagesAvailable: ['Original', 'Processed'] as const,
    };
  }

  private deleteStack(input: DeleteStackCommandInput) {
    accept('DeleteStack', input, 'StackName ClientRequestToken RetainResources RoleARN');
    const name = required(input.StackName, 'stackName');
    const stack = this.lookup(name);
    if (!stack || stack.deleted || stack.status === 'DELETE_IN_PROGRESS') return {};
    if (stack.terminationProtection)
      throw validationError(`Stack [${name}] cannot be deleted while TerminationProtection is enabled`);
    if (isBusy(stack.status))
      throw validationError(`Stack [${name}] cannot be deleted while in status ${stack.status}`);
    const retain = new Set(input.RetainResources ?? []);
    if (retain.size > 0 && stack.status !== 'DELETE_FAILED')
      throw validationError(
        `Invalid operation on stack [${stack.id}]. RetainResources can only be specified when the stack is in the DELETE_FAILED state.`,
      );
    const failure = this.deleteFailures.get(stack.name);
    this.deleteFailures.delete(stack.name);
    stack.changeSets.clear();
    stack.token = input.ClientRequestToken;
    this.setStatus(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    stack.operation = this.deleteOperation(stack, failure, retain);
    return {};
  }

  private updateTerminationProtection(input: UpdateTerminationProtectionCommandInput) {
    accept('UpdateTerminationProtection', input, 'StackName EnableTerminationProtection');
    const name = required(input.StackName, 'stackName');
    const stack = this.live(name);
    if (!stack) throw validationError(`Stack [${name}] does not exist`);
    stack.terminationProtection = input.EnableTerminationProtection === true;
    return { StackId: stack.id };
  }

  private continueUpdateRollback(input: ContinueUpdateRollbackCommandInput) {
    accept('ContinueUpdateRollback', input, 'StackName ResourcesToSkip ClientRequestToken RoleARN');
    const name = required(input.StackName, 'stackName');
    const stack = this.live(name);
    if (!stack) throw validationError(`Stack [${name}] does not exist`);
    if (stack.status !== 'UPDATE_ROLLBACK_FAILED')
      throw validationError(`Stack [${name}] is in ${stack.status} state and can not continue update rollback.`);
    stack.token = input.ClientRequestToken;
    this.setStatus(stack, 'UPDATE_ROLLBACK_IN_PROGRESS', 'User Initiated');
    stack.operation = this.continueRollback(stack, new Set(input.ResourcesToSkip ?? []));
    return {};
  }

  // -------------------------------------------------------------------------------------------------------------
  // Change sets

  private *computeChangeSet(changeSet: ChangeSetRecord, previous: Deployment | undefined): Generator<void> {
    changeSet.status = 'CREATE_IN_PROGRESS';
    yield;
    const next = changeSet.deployment;
    if (!previous) {
      changeSet.plan = Object.entries(next.template.Resources).map(([logicalId, resource]) =>
        planned('Add', logicalId, resource.Type),
      );
    } else {
      const retyped = Object.keys(next.template.Resources).filter(
        (id) =>
          id in previous.template.Resources &&
          previous.template.Resources[id]!.Type !== next.template.Resources[id]!.Type,
      );
      if (retyped.length > 0)
        return this.failChangeSet(
          changeSet,
          `Update of resource type is not permitted. The new template modifies resource type of the following resources: [${retyped.join(', ')}]`,
        );
      if (unchanged(previous, next)) return this.failChangeSet(changeSet, NO_CHANGES);
      changeSet.plan = this.planUpdate(changeSet.stack, previous, next);
    }
    changeSet.status = 'CREATE_COMPLETE';
    changeSet.executionStatus = 'AVAILABLE';
  }

  private failChangeSet(changeSet: ChangeSetRecord, reason: string): void {
    changeSet.status = 'FAILED';
    changeSet.executionStatus = 'UNAVAILABLE';
    changeSet.reason = reason;
  }

  private planUpdate(stack: StackRecord, before: Deployment, after: Deployment): PlannedChange[] {
    const changedParameters = new Set(
      [...Object.keys(before.parameters), ...Object.keys(after.parameters)].filter(
        (key) => before.parameters[key] !== after.parameters[key],
      ),
    );
    const tagsChanged = !isDeepStrictEqual(before.tags, after.tags);
    const plan: PlannedChange[] = [];
    for (const [logicalId, resource] of Object.entries(after.template.Resources)) {
      const old = before.template.Resources[logicalId];
      if (!old) {
        plan.push(planned('Add', logicalId, resource.Type));
        continue;
      }
      const modify = modification(old, resource, changedParameters, tagsChanged);
      if (modify) {
        const physicalId = stack.resources.get(logicalId)?.physicalId;
        plan.push({
          action: 'Modify',
          logicalId,
          replace: modify.details.some((detail) => detail.Target?.RequiresRecreation === 'Always'),
          change: {
            Type: 'Resource',
            ResourceChange: {
              Action: 'Modify',
              LogicalResourceId: logicalId,
              ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
              ResourceType: resource.Type,
              Replacement: modify.replacement,
              Scope: modify.scope,
              Details: modify.details,
            },
          },
        });
      }
    }
    for (const [logicalId, resource] of Object.entries(before.template.Resources)) {
      if (logicalId in after.template.Resources) continue;
      const change = planned('Remove', logicalId, resource.Type);
      const physicalId = stack.resources.get(logicalId)?.physicalId;
      if (physicalId) change.change.ResourceChange!.PhysicalResourceId = physicalId;
      plan.push(change);
    }
    return plan;
  }

  private findChangeSet(nameOrArn: string | undefined, stackName: string | undefined): ChangeSetRecord {
    const name = required(nameOrArn, 'changeSetName');
    if (name.startsWith('arn:')) {
      for (const stack of this.stacks.values())
        for (const changeSet of stack.changeSets.values()) if (changeSet.id === name) return changeSet;
      throw changeSetNotFound(name);
    }
    if (!stackName) throw validationError('StackName must be specified if ChangeSetName is not specified as an ARN.');
    const stack = this.live(stackName);
    if (!stack) throw validationError(`Stack [${stackName}] does not exist`);
    const changeSet = stack.changeSets.get(name);
    if (!changeSet) throw changeSetNotFound(name);
    return changeSet;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations: generators, one step per next()

  private *createOperation(stack: StackRecord, failure: InjectedFailure | undefined): Generator<void> {
    for (const logicalId of deploymentOrder(stack.deployment!.template)) {
      if (failure?.logicalId === logicalId) {
        this.failResource(stack, logicalId, 'CREATE', failure.reason);
        this.setStatus(
          stack,
          'ROLLBACK_IN_PROGRESS',
          `The following resource(s) failed to create: [${logicalId}]. Rollback requested by user.`,
        );
        yield;
        yield* this.rollbackCreate(stack, failure.rollbackFails ? failure : undefined);
        return;
      }
      this.createResource(stack, logicalId);
      yield;
    }
    this.setStatus(stack, 'CREATE_COMPLETE');
  }

  private *rollbackCreate(stack: StackRecord, failing: InjectedFailure | undefined): Generator<void> {
    for (const logicalId of this.deletionOrder(stack)) {
      if (failing?.logicalId === logicalId) {
        this.failResource(stack, logicalId, 'DELETE', failing.reason);
        this.setStatus(stack, 'ROLLBACK_FAILED', `The following resource(s) failed to delete: [${logicalId}].`);
        return;
      }
      this.removeResource(stack, logicalId, 'rollback');
      yield;
    }
    this.setStatus(stack, 'ROLLBACK_COMPLETE');
  }

  private *updateOperation(
    stack: StackRecord,
    previous: Deployment,
    plan: PlannedChange[],
    failure: InjectedFailure | undefined,
  ): Generator<void> {
    const order = deploymentOrder(stack.deployment!.template);
    const work = plan
      .filter((change) => change.action !== 'Remove')
      .sort((a, b) => order.indexOf(a.logicalId) - order.indexOf(b.logicalId));
    const touched: Touched[] = [];
    const replaced: Replaced[] = [];
    for (const change of work) {
      const { logicalId } = change;
      const added = change.action === 'Add';
      const before = stack.resources.get(logicalId);
      touched.push({ logicalId, added, ...(before ? { before: { ...before } } : {}) });
      const reason = failure?.logicalId === logicalId ? failure.reason : this.replacementBlocker(stack, change);
      if (reason !== undefined) {
        this.failResource(stack, logicalId, added ? 'CREATE' : 'UPDATE', reason);
        stack.deployment = previous;
        this.setStatus(
          stack,
          'UPDATE_ROLLBACK_IN_PROGRESS',
          `The following resource(s) failed to ${added ? 'create' : 'update'}: [${logicalId}].`,
        );
        yield;
        yield* this.rollbackUpdate(stack, touched, failure?.rollbackFails ? failure : undefined);
        return;
      }
      if (added) this.createResource(stack, logicalId);
      else if (change.replace) replaced.push({ logicalId, resource: this.replaceResource(stack, logicalId) });
      else this.updateResource(stack, logicalId, stack.deployment!.template.Resources[logicalId]!);
      yield;
    }
    this.setStatus(stack, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    yield;
    for (const logicalId of deploymentOrder(previous.template).reverse()) {
      if (logicalId in stack.deployment!.template.Resources || !stack.resources.has(logicalId)) continue;
      this.removeResource(stack, logicalId, 'delete');
      yield;
    }
    for (const old of replaced) {
      this.removePhysical(stack, old, old.resource.declaration.UpdateReplacePolicy);
      yield;
    }
    this.setStatus(stack, 'UPDATE_COMPLETE');
  }

  private *rollbackUpdate(
    stack: StackRecord,
    touched: Touched[],
    failing: InjectedFailure | undefined,
  ): Generator<void> {
    const replacements: Replaced[] = [];
    for (const { logicalId, added, before } of [...touched].reverse()) {
      if (failing?.logicalId === logicalId) {
        this.failResource(stack, logicalId, added ? 'DELETE' : 'UPDATE', failing.reason);
        this.setStatus(
          stack,
          'UPDATE_ROLLBACK_FAILED',
          `The following resource(s) failed to ${added ? 'delete' : 'update'}: [${logicalId}].`,
        );
        return;
      }
      if (added || !before) continue;
      const current = stack.resources.get(logicalId)!;
      if (current.physicalId !== before.physicalId) replacements.push({ logicalId, resource: { ...current } });
      stack.resources.set(logicalId, { ...before });
      this.updateResource(stack, logicalId, before.declaration);
      yield;
    }
    this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    yield;
    for (const { logicalId, added } of [...touched].reverse()) {
      if (!added || !stack.resources.has(logicalId)) continue;
      this.removeResource(stack, logicalId, 'rollback');
      yield;
    }
    for (const replacement of replacements) {
      this.removePhysical(stack, replacement, undefined);
      yield;
    }
    this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE');
  }

  /** ContinueUpdateRollback, and a seeded UPDATE_ROLLBACK_IN_PROGRESS: revert what failed, then clean up. */
  private *continueRollback(stack: StackRecord, skip: Set<string>): Generator<void> {
    const resources = stack.deployment!.template.Resources;
    for (const logicalId of this.deletionOrder(stack)) {
      const resource = stack.resources.get(logicalId)!;
      if (!resource.status.endsWith('_FAILED') || !(logicalId in resources)) continue;
      if (skip.has(logicalId)) {
        this.event(stack, logicalId, resource.type, 'UPDATE_COMPLETE', resource.physicalId, 'Resource skipped');
        resource.status = 'UPDATE_COMPLETE';
      } else this.updateResource(stack, logicalId, resources[logicalId]!);
      yield;
    }
    this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    yield;
    for (const logicalId of this.deletionOrder(stack)) {
      if (logicalId in resources) continue;
      this.removeResource(stack, logicalId, 'rollback');
      yield;
    }
    this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE');
  }

  private *deleteOperation(
    stack: StackRecord,
    failure: InjectedFailure | undefined,
    retain: Set<string>,
  ): Generator<void> {
    for (const logicalId of this.deletionOrder(stack)) {
      if (failure?.logicalId === logicalId) {
        this.failResource(stack, logicalId, 'DELETE', failure.reason);
        this.setStatus(stack, 'DELETE_FAILED', `The following resource(s) failed to delete: [${logicalId}].`);
        return;
      }
      this.removeResource(stack, logicalId, retain.has(logicalId) ? 'retain' : 'delete');
      yield;
    }
    this.setStatus(stack, 'DELETE_COMPLETE');
  }

  private *resumeSeeded(stack: StackRecord): Generator<void> {
    const all = () => deploymentOrder(stack.deployment!.template);
    switch (stack.status) {
      case 'CREATE_IN_PROGRESS':
        return yield* this.createOperation(stack, undefined);
      case 'UPDATE_IN_PROGRESS': {
        const plan = all().map((logicalId) => ({ ...planned('Modify', logicalId, ''), replace: false }));
        return yield* this.updateOperation(stack, stack.deployment!, plan, undefined);
      }
      case 'ROLLBACK_IN_PROGRESS':
        return yield* this.rollbackCreate(stack, undefined);
      case 'UPDATE_ROLLBACK_IN_PROGRESS':
        return yield* this.continueRollback(stack, new Set());
      case 'DELETE_IN_PROGRESS':
        return yield* this.deleteOperation(stack, undefined, new Set());
      case 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS':
        return this.setStatus(stack, 'UPDATE_COMPLETE');
      case 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS':
        return this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE');
    }
  }

  /** One step of every operation and change-set creation in progress; the clock moves one second. */
  private tick(): void {
    this.clock += 1000;
    for (const stack of this.stacks.values()) {
      for (const changeSet of stack.changeSets.values())
        if (changeSet.creation?.next().done) changeSet.creation = undefined;
      if (stack.operation?.next().done) this.endOperation(stack);
    }
  }

  private endOperation(stack: StackRecord): void {
    stack.operation = undefined;
    stack.token = undefined;
    if (stack.executing) {
      stack.executing.executionStatus = ['CREATE_COMPLETE', 'UPDATE_COMPLETE'].includes(stack.status)
        ? 'EXECUTE_COMPLETE'
        : 'EXECUTE_FAILED';
      stack.executing = undefined;
    }
    if (stack.status === 'DELETE_COMPLETE') {
      stack.deleted = this.now();
      stack.changeSets.clear();
      if (this.liveIds.get(stack.name) === stack.id) this.liveIds.delete(stack.name);
    }
  }

  private anythingInProgress(): boolean {
    return [...this.stacks.values()].some(
      (stack) => stack.operation || [...stack.changeSets.values()].some((changeSet) => changeSet.creation),
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Resources and events

  private createResource(stack: StackRecord, logicalId: string): void {
    const declaration = stack.deployment!.template.Resources[logicalId]!;
    const physicalId = this.physicalIdFor(stack, logicalId, declaration);
    this.event(stack, logicalId, declaration.Type, 'CREATE_IN_PROGRESS', '');
    this.putResource(stack, logicalId, 'CREATE_COMPLETE', physicalId);
    this.event(stack, logicalId, declaration.Type, 'CREATE_COMPLETE', physicalId);
  }

  private putResource(stack: StackRecord, logicalId: string, status: string, physicalId?: string): void {
    const declaration = stack.deployment!.template.Resources[logicalId]!;
    stack.resources.set(logicalId, {
      type: declaration.Type,
      status,
      physicalId: physicalId ?? this.physicalIdFor(stack, logicalId, declaration),
      timestamp: this.now(),
      declaration,
    });
  }

  private updateResource(stack: StackRecord, logicalId: string, declaration: ResourceDeclaration): void {
    const resource = stack.resources.get(logicalId)!;
    this.event(stack, logicalId, resource.type, 'UPDATE_IN_PROGRESS', resource.physicalId);
    Object.assign(resource, { status: 'UPDATE_COMPLETE', reason: undefined, timestamp: this.now(), declaration });
    this.event(stack, logicalId, resource.type, 'UPDATE_COMPLETE', resource.physicalId);
  }

  /** An update that needs a new physical resource; returns the old one, deleted during cleanup. */
  private replaceResource(stack: StackRecord, logicalId: string): LiveResource {
    const resource = stack.resources.get(logicalId)!;
    const old = { ...resource };
    const declaration = stack.deployment!.template.Resources[logicalId]!;
    this.event(
      stack,
      logicalId,
      resource.type,
      'UPDATE_IN_PROGRESS',
      old.physicalId,
      'Requested update requires the creation of a new physical resource; hence creating one.',
    );
    const physicalId = this.physicalIdFor(stack, logicalId, declaration);
    Object.assign(resource, { status: 'UPDATE_COMPLETE', physicalId, timestamp: this.now(), declaration });
    this.event(stack, logicalId, resource.type, 'UPDATE_COMPLETE', physicalId);
    return old;
  }

  /** CloudFormation refuses to replace a resource whose custom name stays the same: the new one could not exist beside it. */
  private replacementBlocker(stack: StackRecord, change: PlannedChange): string | undefined {
    if (!change.replace) return undefined;
    const current = stack.resources.get(change.logicalId)!;
    const declaration = stack.deployment!.template.Resources[change.logicalId]!;
    if (this.customName(stack, declaration) !== current.physicalId) return undefined;
    return `CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename ${current.physicalId} and update the stack again.`;
  }

  /** Deletes a resource, or skips it (DELETE_SKIPPED) when its DeletionPolicy or RetainResources keeps it. */
  private removeResource(stack: StackRecord, logicalId: string, context: 'delete' | 'rollback' | 'retain'): void {
    const resource = stack.resources.get(logicalId)!;
    const policy = resource.declaration.DeletionPolicy;
    const createdThenRolledBack =
      context === 'rollback' && (policy === 'RetainExceptOnCreate' || stack.retainExceptOnCreate === true);
    const keep =
      context === 'retain' || (!createdThenRolledBack && (policy === 'Retain' || policy === 'RetainExceptOnCreate'));
    if (keep) this.event(stack, logicalId, resource.type, 'DELETE_SKIPPED', resource.physicalId);
    else {
      this.event(stack, logicalId, resource.type, 'DELETE_IN_PROGRESS', resource.physicalId);
      this.event(stack, logicalId, resource.type, 'DELETE_COMPLETE', resource.physicalId);
    }
    stack.resources.delete(logicalId);
  }

  /** Deletes the physical resource a replacement left behind (the logical resource lives on with another id). */
  private removePhysical(stack: StackRecord, { logicalId, resource }: Replaced, policy: string | undefined): void {
    const statuses = policy === 'Retain' ? ['DELETE_SKIPPED'] : ['DELETE_IN_PROGRESS', 'DELETE_COMPLETE'];
    for (const status of statuses) this.event(stack, logicalId, resource.type, status, resource.physicalId);
  }

  private failResource(stack: StackRecord, logicalId: string, verb: 'CREATE' | 'UPDATE' | 'DELETE', reason: string) {
    const existing = stack.resources.get(logicalId);
    const type = existing?.type ?? stack.deployment!.template.Resources[logicalId]!.Type;
    const physicalId = existing?.physicalId ?? '';
    this.event(stack, logicalId, type, `${verb}_IN_PROGRESS`, physicalId);
    this.event(stack, logicalId, type, `${verb}_FAILED`, physicalId, reason);
    if (existing) Object.assign(existing, { status: `${verb}_FAILED`, reason, timestamp: this.now() });
    else
      stack.resources.set(logicalId, {
        type,
        status: `${verb}_FAILED`,
        physicalId,
        reason,
        timestamp: this.now(),
        declaration: stack.deployment!.template.Resources[logicalId]!,
      });
  }

  /** Dependents before what they depend on; resources the template no longer declares first. */
  private deletionOrder(stack: StackRecord): string[] {
    const order = stack.deployment ? deploymentOrder(stack.deployment.template) : [];
    const declared = order.filter((logicalId) => stack.resources.has(logicalId));
    const strays = [...stack.resources.keys()].filter((logicalId) => !order.includes(logicalId));
    return [...strays.reverse(), ...declared.reverse()];
  }

  /**
   * The resource's name property (BucketName, RoleName, QueueName, Name...) when it is a literal, or a Ref or Fn::Sub
   * of parameters and pseudo parameters only.
   */
  private customName(stack: StackRecord, declaration: ResourceDeclaration): string | undefined {
    const property = schemaOf(declaration.Type)?.nameProperty;
    const value = property === undefined ? undefined : declaration.Properties?.[property];
    const pseudo: Record<string, string> = {
      'AWS::AccountId': this.options.account ?? '123456789012',
      'AWS::Partition': 'aws',
      'AWS::Region': this.options.region ?? 'eu-west-2',
      'AWS::StackId': stack.id,
      'AWS::StackName': stack.name,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const scalar = (name: string) => pseudo[name] ?? stack.deployment?.parameters[name];
    if (typeof value === 'string') return value;
    if (!isObject(value)) return undefined;
    if (typeof value.Ref === 'string') return scalar(value.Ref);
    const sub = value['Fn::Sub'];
    if (typeof sub !== 'string') return undefined;
    let resolved = true;
    const name = sub.replace(/\$\{([^}!][^}]*)\}/g, (_, reference: string) => {
      const found = scalar(reference);
      if (found === undefined) resolved = false;
      return found ?? '';
    });
    return resolved ? name : undefined;
  }

  private physicalIdFor(stack: StackRecord, logicalId: string, declaration: ResourceDeclaration): string {
    const name = this.customName(stack, declaration);
    if (name !== undefined) return name;
    const suffix = this.hash(`${stack.id}/${logicalId}/${this.serial++}`)
      .slice(0, 12)
      .toUpperCase();
    const id = `${stack.name}-${logicalId}-${suffix}`;
    return declaration.Type === 'AWS::S3::Bucket' ? id.toLowerCase() : id;
  }

  private setStatus(stack: StackRecord, status: string, reason?: string): void {
    stack.status = status;
    stack.reason = reason;
    this.event(stack, stack.name, STACK_TYPE, status, stack.id, reason);
  }

  private event(
    stack: StackRecord,
    logicalId: string,
    type: string,
    status: string,
    physicalId: string,
    reason?: string,
  ): void {
    const timestamp = this.now();
    stack.events.push({
      StackId: stack.id,
      EventId: type === STACK_TYPE ? this.uuid() : `${logicalId}-${status}-${timestamp.toISOString()}`,
      StackName: stack.name,
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId,
      ResourceType: type,
      Timestamp: timestamp,
      ResourceStatus: status as StackEvent['ResourceStatus'],
      ...(reason !== undefined ? { ResourceStatusReason: reason } : {}),
      ...(stack.token !== undefined ? { ClientRequestToken: stack.token } : {}),
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lookups and helpers

  private newStack(name: string): StackRecord {
    const stack: StackRecord = {
      id: this.arn(`stack/${name}`),
      name,
      status: 'REVIEW_IN_PROGRESS',
      created: this.now(),
      terminationProtection: false,
      capabilities: [],
      resources: new Map(),
      events: [],
      changeSets: new Map(),
    };
    this.stacks.set(stack.id, stack);
    this.liveIds.set(name, stack.id);
    return stack;
  }

  private createReviewStack(name: string): StackRecord {
    const stack = this.newStack(name);
    this.setStatus(stack, 'REVIEW_IN_PROGRESS', 'User Initiated');
    return stack;
  }

  /** A stack by name (live only) or by stack id (deleted ones too, as DELETE_COMPLETE). */
  private lookup(nameOrId: string): StackRecord | undefined {
    if (nameOrId.startsWith('arn:')) return this.stacks.get(nameOrId);
    const id = this.liveIds.get(nameOrId);
    return id === undefined ? undefined : this.stacks.get(id);
  }

  private live(nameOrId: string): StackRecord | undefined {
    const stack = this.lookup(nameOrId);
    return stack?.deleted ? undefined : stack;
  }

  private outputsOf(stack: StackRecord): { OutputKey: string; OutputValue: string; Description?: string }[] {
    if (!stack.deployment || !OUTPUT_STATUSES.has(stack.status)) return [];
    return Object.entries(stack.deployment.template.Outputs).map(([key, output]) => ({
      OutputKey: key,
      OutputValue: this.options.outputs?.[key] ?? `fake-${key}-${stack.name}`,
      ...(output.Description !== undefined ? { Description: output.Description } : {}),
    }));
  }

  private parameterList(deployment: Deployment): Parameter[] {
    return Object.entries(deployment.parameters).map(([key, value]) => {
      const noEcho = String(deployment.template.Parameters[key]?.NoEcho) === 'true';
      return { ParameterKey: key, ParameterValue: noEcho ? '****' : value };
    });
  }

  private arn(resource: string): string {
    const region = this.options.region ?? 'eu-west-2';
    const account = this.options.account ?? '123456789012';
    return `arn:aws:cloudformation:${region}:${account}:${resource}/${this.uuid()}`;
  }

  private uuid(): string {
    const hex = this.hash(`uuid/${this.serial++}`);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  private hash(text: string): string {
    return createHash('sha256').update(text).digest('hex');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers for change sets

function planned(action: PlannedChange['action'], logicalId: string, type: string): PlannedChange {
  return {
    action,
    logicalId,
    replace: false,
    change: {
      Type: 'Resource',
      ResourceChange: { Action: action, LogicalResourceId: logicalId, ResourceType: type, Scope: [], Details: [] },
    },
  };
}

/** Same resources, outputs, parameter values and tags: a change set has nothing to do. */
function unchanged(before: Deployment, after: Deployment): boolean {
  return (
    isDeepStrictEqual(before.template.Resources, after.template.Resources) &&
    isDeepStrictEqual(before.template.Outputs, after.template.Outputs) &&
    isDeepStrictEqual(before.parameters, after.parameters) &&
    isDeepStrictEqual(before.tags, after.tags)
  );
}

const POLICY_ATTRIBUTES = [
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'CreationPolicy',
  'UpdatePolicy',
] as const;

/** How a resource present in both templates changes, or undefined when it does not. */
function modification(
  before: ResourceDeclaration,
  after: ResourceDeclaration,
  changedParameters: Set<string>,
  tagsChanged: boolean,
):
  | { scope: ResourceAttribute[]; details: ResourceChangeDetail[]; replacement: 'True' | 'False' | 'Conditional' }
  | undefined {
  const details: ResourceChangeDetail[] = [];
  const scope: ResourceAttribute[] = [];
  const oldProperties = before.Properties ?? {};
  const newProperties = after.Properties ?? {};
  for (const name of new Set([...Object.keys(oldProperties), ...Object.keys(newProperties)])) {
    const target = { Attribute: 'Properties' as const, Name: name, RequiresRecreation: recreationOf(after.Type, name) };
    if (!isDeepStrictEqual(oldProperties[name], newProperties[name])) {
      details.push({ Target: target, Evaluation: 'Static', ChangeSource: 'DirectModification' });
      continue;
    }
    for (const parameter of references(newProperties[name], 'ref'))
      if (changedParameters.has(parameter))
        details.push({
          Target: target,
          Evaluation: 'Static',
          ChangeSource: 'ParameterReference',
          CausingEntity: parameter,
        });
  }
  if (details.length > 0) scope.push('Properties');
  for (const attribute of POLICY_ATTRIBUTES) {
    if (isDeepStrictEqual(before[attribute], after[attribute])) continue;
    scope.push(attribute);
    details.push({
      Target: { Attribute: attribute, RequiresRecreation: 'Never' },
      Evaluation: 'Static',
      ChangeSource: 'DirectModification',
    });
  }
  if (tagsChanged && schemaOf(after.Type)?.taggable) {
    scope.push('Tags');
    details.push({
      Target: { Attribute: 'Tags', RequiresRecreation: 'Never' },
      Evaluation: 'Static',
      ChangeSource: 'DirectModification',
    });
  }
  if (details.length === 0) return undefined;
  const recreates = (detail: ResourceChangeDetail) => detail.Target?.RequiresRecreation !== 'Never';
  const replacement = details.some(
    (detail) => detail.ChangeSource === 'DirectModification' && detail.Target?.RequiresRecreation === 'Always',
  )
    ? 'True'
    : details.some(recreates)
      ? 'Conditional'
      : 'False';
  return { scope, details, replacement };
}

function checkName(name: string, member: string): void {
  if (!NAME_PATTERN.test(name))
    throw validationError(
      `1 validation error detected: Value '${name}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
    );
}

function tagMap(tags: Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

function parameterList(values: Record<string, string>): Parameter[] {
  return Object.entries(values).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
}

function encodeToken(owner: string, index: number): string {
  return Buffer.from(JSON.stringify([owner, index])).toString('base64');
}

function decodeToken(token: string, owner: string): number {
  try {
    const [tokenOwner, index] = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as [string, number];
    if (tokenOwner === owner && Number.isInteger(index)) return index;
  } catch {}
  throw validationError('Invalid NextToken');
}
