/**
 * A CloudFormation template validator over the resource schema database CDK generates its L1 constructs from
 * (npm @aws-cdk/aws-service-spec, db.json.gz). Test/dev code only: the CLI never ships it.
 *
 * Checks: every resource type exists; every property is known; required properties are present; values have the
 * right type (string, integer, number, boolean, list, map, nested property type, tag, allowed values); every
 * `Ref` resolves to a parameter, resource or pseudo parameter; every `Fn::GetAtt` (also inside `Fn::Sub`) names an
 * attribute the resource type has; intrinsics yield a list where a list is expected and a scalar where a scalar is;
 * `DependsOn` targets exist; the resource graph has no cycle; parameters and outputs are well-formed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

interface SpecType {
  type: string;
  element?: SpecType;
  reference?: { $ref: string };
  types?: SpecType[];
  allowedValues?: (string | number)[];
}

interface SpecProperty {
  type: SpecType;
  required?: boolean;
  previousTypes?: SpecType[];
}

interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, { type: SpecType }>;
}

interface SpecTypeDefinition {
  $id: string;
  name: string;
  properties: Record<string, SpecProperty>;
}

export interface ResourceSpec {
  resources: Map<string, SpecResource>;
  types: Map<string, SpecTypeDefinition>;
}

let cached: ResourceSpec | undefined;

/** Loads the schema database once per process (about half a second). */
export function loadResourceSpec(): ResourceSpec {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('@aws-cdk/aws-service-spec/package.json'));
  const db = JSON.parse(gunzipSync(readFileSync(join(packageDir, 'db.json.gz'))).toString('utf8')) as {
    schema: { resource: { entities: SpecResource[] }; typeDefinition: { entities: SpecTypeDefinition[] } };
  };
  cached = {
    resources: new Map(db.schema.resource.entities.map((resource) => [resource.cloudFormationType, resource])),
    types: new Map(db.schema.typeDefinition.entities.map((definition) => [definition.$id, definition])),
  };
  return cached;
}

export interface SchemaIssue {
  path: string;
  message: string;
}

const CUSTOM_RESOURCE = 'AWS::CloudFormation::CustomResource';
function pick(value: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => names.includes(name)));
}

const PSEUDO_PARAMETERS: Record<string, 'scalar' | 'list'> = {
  'AWS::AccountId': 'scalar',
  'AWS::NotificationARNs': 'list',
  'AWS::NoValue': 'scalar',
  'AWS::Partition': 'scalar',
  'AWS::Region': 'scalar',
  'AWS::StackId': 'scalar',
  'AWS::StackName': 'scalar',
  'AWS::URLSuffix': 'scalar',
};

const TOP_LEVEL_KEYS = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Mappings',
  'Conditions',
  'Transform',
  'Rules',
  'Resources',
  'Outputs',
]);
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Metadata',
  'Condition',
  'CreationPolicy',
  'UpdatePolicy',
]);
const PARAMETER_KEYS = new Set([
  'Type',
  'Default',
  'Description',
  'AllowedPattern',
  'AllowedValues',
  'ConstraintDescription',
  'MaxLength',
  'MaxValue',
  'MinLength',
  'MinValue',
  'NoEcho',
]);
const OUTPUT_KEYS = new Set(['Description', 'Value', 'Export', 'Condition']);
const PARAMETER_TYPE =
  /^(String|Number|List<Number>|CommaDelimitedList|(List<)?AWS::EC2::[A-Za-z]+::[A-Za-z]+>?|AWS::SSM::Parameter::(Name|Value<.+>))$/;
const DELETION_POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);

type Kind = 'scalar' | 'list' | 'any';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function intrinsicName(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0]!;
  return key === 'Ref' || key.startsWith('Fn::') || key === 'Condition' ? key : undefined;
}

class Validator {
  readonly issues: SchemaIssue[] = [];
  private readonly parameters: Json;
  private readonly resources: Json;
  /** Resource → resources it references (Ref, GetAtt, Sub, DependsOn). */
  readonly edges = new Map<string, Set<string>>();
  private current: string | undefined;

  constructor(
    private readonly spec: ResourceSpec,
    template: Json,
  ) {
    this.parameters = isObject(template.Parameters) ? template.Parameters : {};
    this.resources = isObject(template.Resources) ? template.Resources : {};
  }

  issue(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  private edge(target: string): void {
    if (this.current === undefined || !(target in this.resources)) return;
    const set = this.edges.get(this.current) ?? new Set<string>();
    set.add(target);
    this.edges.set(this.current, set);
  }

  inResource<T>(logicalId: string | undefined, run: () => T): T {
    const previous = this.current;
    this.current = logicalId;
    try {
      return run();
    } finally {
      this.current = previous;
    }
  }

  /** What a `Ref` to `name` yields, or undefined (and an issue) when it resolves to nothing. */
  ref(name: unknown, path: string): Kind | undefined {
    if (typeof name !== 'string') {
      this.issue(path, 'Ref must name a parameter, resource or pseudo parameter');
      return undefined;
    }
    if (name in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[name];
    const parameter = this.parameters[name];
    if (isObject(parameter)) {
      const type = String(parameter.Type);
      return type.startsWith('List<') || type === 'CommaDelimitedList' ? 'list' : 'scalar';
    }
    if (name in this.resources) {
      this.edge(name);
      return 'scalar';
    }
    this.issue(path, `Ref "${name}" resolves to no parameter, resource or pseudo parameter`);
    return undefined;
  }

  getAtt(logicalId: string, attribute: string, path: string): Kind | undefined {
    const resource = this.resources[logicalId];
    if (!isObject(resource)) {
      this.issue(path, `Fn::GetAtt names "${logicalId}", which is not a resource of this template`);
      return undefined;
    }
    this.edge(logicalId);
    const spec = this.spec.resources.get(String(resource.Type));
    if (!spec) return 'any';
    const found = spec.attributes[attribute];
    if (!found) {
      this.issue(
        path,
        `${String(resource.Type)} has no attribute "${attribute}" (known: ${Object.keys(spec.attributes).join(', ')})`,
      );
      return undefined;
    }
    return found.type.type === 'array' ? 'list' : 'scalar';
  }

  /** Validates an intrinsic and returns what it yields. */
  intrinsic(value: Json, path: string): Kind {
    const name = intrinsicName(value)!;
    const argument = value[name];
    const at = `${path}.${name}`;
    switch (name) {
      case 'Ref':
        return this.ref(argument, at) ?? 'any';
      case 'Fn::GetAtt': {
        const parts = typeof argument === 'string' ? argument.split(/\.(.*)/s).slice(0, 2) : argument;
        if (
          !Array.isArray(parts) ||
          parts.length !== 2 ||
          typeof parts[0] !== 'string' ||
          typeof parts[1] !== 'string'
        ) {
          this.issue(at, 'Fn::GetAtt takes [logicalId, attribute]');
          return 'any';
        }
        return this.getAtt(parts[0], parts[1], at) ?? 'any';
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
        if (typeof text !== 'string' || !isObject(variables)) {
          this.issue(at, 'Fn::Sub takes a string or [string, { variables }]');
          return 'scalar';
        }
        for (const [variable, variableValue] of Object.entries(variables)) {
          this.expectKind(this.any(variableValue, `${at}.${variable}`), 'scalar', `${at}.${variable}`);
        }
        for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
          const reference = match[1]!;
          if (reference.startsWith('!')) continue;
          if (reference in variables) continue;
          const dot = reference.indexOf('.');
          if (dot > 0 && !(reference in PSEUDO_PARAMETERS))
            this.getAtt(reference.slice(0, dot), reference.slice(dot + 1), at);
          else this.expectKind(this.ref(reference, at), 'scalar', at);
        }
        return 'scalar';
      }
      case 'Fn::Join': {
        if (!Array.isArray(argument) || argument.length !== 2 || typeof argument[0] !== 'string') {
          this.issue(at, 'Fn::Join takes [delimiter, list]');
          return 'scalar';
        }
        const list = argument[1];
        if (!Array.isArray(list)) this.expectKind(this.any(list, at), 'list', at);
        else
          for (const [index, item] of list.entries())
            this.expectKind(this.any(item, `${at}[${index}]`), 'scalar', `${at}[${index}]`);
        return 'scalar';
      }
      case 'Fn::Select': {
        if (!Array.isArray(argument) || argument.length !== 2 || !/^\d+$/.test(String(argument[0]))) {
          this.issue(at, 'Fn::Select takes [index, list]');
          return 'scalar';
        }
        const list = argument[1];
        if (!Array.isArray(list)) this.expectKind(this.any(list, at), 'list', at);
        return 'scalar';
      }
      case 'Fn::GetAZs':
        if (typeof argument !== 'string') this.expectKind(this.any(argument, at), 'scalar', at);
        return 'list';
      case 'Fn::Split':
        if (!Array.isArray(argument) || argument.length !== 2) this.issue(at, 'Fn::Split takes [delimiter, string]');
        else this.any(argument[1], at);
        return 'list';
      case 'Fn::If':
        if (!Array.isArray(argument) || argument.length !== 3) this.issue(at, 'Fn::If takes [condition, then, else]');
        else {
          this.any(argument[1], at);
          this.any(argument[2], at);
        }
        return 'any';
      case 'Fn::Base64':
      case 'Fn::ImportValue':
      case 'Fn::FindInMap':
      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not':
      case 'Fn::Length':
      case 'Fn::ToJsonString':
      case 'Condition':
        this.any(argument, at);
        return name === 'Fn::Length' ? 'scalar' : 'any';
      default:
        this.issue(at, `unknown intrinsic function ${name}`);
        return 'any';
    }
  }

  expectKind(actual: Kind | undefined, expected: 'scalar' | 'list', path: string): void {
    if (actual === undefined || actual === 'any' || actual === expected) return;
    this.issue(
      path,
      expected === 'list'
        ? 'expected a list, but the intrinsic yields a single value'
        : 'expected a single value, but the intrinsic yields a list',
    );
  }

  /** Walks any JSON value (policy documents, event patterns), validating the intrinsics inside. */
  any(value: unknown, path: string): Kind {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) this.any(item, `${path}[${index}]`);
      return 'list';
    }
    if (intrinsicName(value)) return this.intrinsic(value as Json, path);
    if (isObject(value)) for (const [key, item] of Object.entries(value)) this.any(item, `${path}.${key}`);
    return 'scalar';
  }

  /** Issues of `value` against `type`, collected separately so unions can try alternatives. */
  tryType(value: unknown, type: SpecType, path: string): SchemaIssue[] {
    const before = this.issues.length;
    this.checkType(value, type, path);
    return this.issues.splice(before);
  }

  checkProperty(value: unknown, property: SpecProperty, path: string): void {
    const candidates = [property.type, ...(property.previousTypes ?? [])];
    let best: SchemaIssue[] | undefined;
    for (const candidate of candidates) {
      const found = this.tryType(value, candidate, path);
      if (found.length === 0) return;
      if (!best || found.length < best.length) best = found;
    }
    this.issues.push(...(best ?? []));
  }

  checkType(value: unknown, type: SpecType, path: string): void {
    if (intrinsicName(value)) {
      const kind = this.intrinsic(value as Json, path);
      if (type.type === 'array') this.expectKind(kind, 'list', path);
      else if (type.type === 'ref' || type.type === 'map' || type.type === 'tag') {
        if (intrinsicName(value) !== 'Fn::If')
          this.issue(path, `expected a ${describeType(type, this.spec)}, not an intrinsic function`);
      } else if (type.type !== 'json' && type.type !== 'union') this.expectKind(kind, 'scalar', path);
      return;
    }
    switch (type.type) {
      case 'string':
      case 'date-time':
        if (typeof value !== 'string') this.issue(path, `expected a string, got ${JSON.stringify(value)}`);
        else this.allowed(value, type, path);
        return;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value))
          this.issue(path, `expected an integer, got ${JSON.stringify(value)}`);
        else this.allowed(value, type, path);
        return;
      case 'number':
        if (typeof value !== 'number') this.issue(path, `expected a number, got ${JSON.stringify(value)}`);
        return;
      case 'boolean':
        if (typeof value !== 'boolean') this.issue(path, `expected a boolean, got ${JSON.stringify(value)}`);
        return;
      case 'json':
        if (!isObject(value) && !Array.isArray(value) && typeof value !== 'string')
          this.issue(path, 'expected a JSON object');
        else this.any(value, path);
        return;
      case 'array':
        if (!Array.isArray(value)) {
          this.issue(path, `expected a list, got ${JSON.stringify(value)}`);
          return;
        }
        for (const [index, item] of value.entries()) this.checkType(item, type.element!, `${path}[${index}]`);
        return;
      case 'map':
        if (!isObject(value)) {
          this.issue(path, 'expected a map');
          return;
        }
        for (const [key, item] of Object.entries(value)) this.checkType(item, type.element!, `${path}.${key}`);
        return;
      case 'tag':
        if (
          !isObject(value) ||
          typeof value.Key !== 'string' ||
          Object.keys(value).some((key) => key !== 'Key' && key !== 'Value')
        ) {
          this.issue(path, 'expected a tag { Key, Value }');
        } else this.checkType(value.Value, { type: 'string' }, `${path}.Value`);
        return;
      case 'union': {
        // Report the alternative that came closest (a policy document with a bad reference inside, not "no match").
        const attempts = (type.types ?? []).map((candidate) => this.tryType(value, candidate, path));
        if (attempts.some((found) => found.length === 0)) return;
        const closest = attempts.reduce(
          (best, found) => (found.length < best.length ? found : best),
          attempts[0] ?? [],
        );
        this.issues.push(...closest);
        return;
      }
      case 'ref': {
        const definition = this.spec.types.get(type.reference!.$ref);
        if (!definition) return;
        if (!isObject(value)) {
          this.issue(path, `expected ${definition.name} (an object), got ${JSON.stringify(value)}`);
          return;
        }
        this.checkObject(value, definition.properties, path, definition.name);
        return;
      }
      case 'null':
        return;
      default:
        this.issue(path, `unsupported schema type ${type.type}`);
    }
  }

  allowed(value: string | number, type: SpecType, path: string): void {
    if (type.allowedValues && !type.allowedValues.includes(value)) {
      this.issue(path, `${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`);
    }
  }

  checkObject(value: Json, properties: Record<string, SpecProperty>, path: string, what: string): void {
    for (const [key, item] of Object.entries(value)) {
      const property = properties[key];
      if (!property) {
        this.issue(`${path}.${key}`, `${what} has no property "${key}"`);
        continue;
      }
      this.checkProperty(item, property, `${path}.${key}`);
    }
    for (const [key, property] of Object.entries(properties)) {
      if (property.required && !(key in value)) this.issue(path, `${what} requires property "${key}"`);
    }
  }
}

function describeType(type: SpecType, spec: ResourceSpec): string {
  switch (type.type) {
    case 'array':
      return `list of ${describeType(type.element!, spec)}`;
    case 'map':
      return `map of ${describeType(type.element!, spec)}`;
    case 'ref':
      return spec.types.get(type.reference!.$ref)?.name ?? 'object';
    default:
      return type.type;
  }
}

/** Every schema problem of a template; empty when CloudFormation's resource schemas accept it. */
export function validateTemplate(template: unknown, spec: ResourceSpec = loadResourceSpec()): SchemaIssue[] {
  if (!isObject(template)) return [{ path: '', message: 'a template is an object' }];
  const v = new Validator(spec, template);
  for (const key of Object.keys(template))
    if (!TOP_LEVEL_KEYS.has(key)) v.issue(key, `unknown top-level section "${key}"`);
  if (template.AWSTemplateFormatVersion !== undefined && template.AWSTemplateFormatVersion !== '2010-09-09') {
    v.issue('AWSTemplateFormatVersion', 'must be 2010-09-09');
  }
  if (template.Description !== undefined && typeof template.Description !== 'string')
    v.issue('Description', 'must be a string');

  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  for (const [name, parameter] of Object.entries(parameters)) {
    const path = `Parameters.${name}`;
    if (!isObject(parameter)) {
      v.issue(path, 'a parameter is an object');
      continue;
    }
    for (const key of Object.keys(parameter))
      if (!PARAMETER_KEYS.has(key)) v.issue(`${path}.${key}`, `unknown parameter attribute "${key}"`);
    if (typeof parameter.Type !== 'string' || !PARAMETER_TYPE.test(parameter.Type))
      v.issue(`${path}.Type`, `unknown parameter type ${JSON.stringify(parameter.Type)}`);
  }

  const resources = isObject(template.Resources) ? template.Resources : {};
  if (Object.keys(resources).length === 0) v.issue('Resources', 'a template needs at least one resource');
  for (const [logicalId, resource] of Object.entries(resources)) {
    const path = `Resources.${logicalId}`;
    if (!/^[A-Za-z0-9]+$/.test(logicalId)) v.issue(path, 'logical ids are alphanumeric');
    if (logicalId in parameters) v.issue(path, 'a resource and a parameter share this logical id');
    if (!isObject(resource)) {
      v.issue(path, 'a resource is an object');
      continue;
    }
    for (const key of Object.keys(resource))
      if (!RESOURCE_KEYS.has(key)) v.issue(`${path}.${key}`, `unknown resource attribute "${key}"`);
    for (const policy of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      if (resource[policy] !== undefined && !DELETION_POLICIES.has(String(resource[policy])))
        v.issue(`${path}.${policy}`, `unknown ${policy}`);
    }
    v.inResource(logicalId, () => {
      for (const dependency of typeof resource.DependsOn === 'string'
        ? [resource.DependsOn]
        : ((resource.DependsOn as unknown[]) ?? [])) {
        if (typeof dependency !== 'string' || !(dependency in resources))
          v.issue(`${path}.DependsOn`, `DependsOn "${String(dependency)}" is not a resource`);
        else if (dependency === logicalId) v.issue(`${path}.DependsOn`, 'a resource cannot depend on itself');
        else v.edges.set(logicalId, (v.edges.get(logicalId) ?? new Set()).add(dependency));
      }
      const type =
        typeof resource.Type === 'string' && resource.Type.startsWith('Custom::') ? CUSTOM_RESOURCE : resource.Type;
      const resourceSpec = typeof type === 'string' ? spec.resources.get(type) : undefined;
      if (!resourceSpec) {
        v.issue(`${path}.Type`, `unknown resource type ${JSON.stringify(resource.Type)}`);
        return;
      }
      const properties = resource.Properties ?? {};
      if (!isObject(properties)) {
        v.issue(`${path}.Properties`, 'Properties is an object');
        return;
      }
      // A custom resource takes any further properties: CloudFormation hands them to its function as they are, with
      // their intrinsics resolved (checked here like any other).
      const custom = resourceSpec.cloudFormationType === CUSTOM_RESOURCE;
      const known = custom ? pick(properties, Object.keys(resourceSpec.properties)) : properties;
      if (custom)
        for (const [name, value] of Object.entries(properties))
          if (!(name in known)) v.any(value, `${path}.Properties.${name}`);
      v.checkObject(known, resourceSpec.properties, `${path}.Properties`, resourceSpec.cloudFormationType);
    });
  }

  const outputs = isObject(template.Outputs) ? template.Outputs : {};
  for (const [name, output] of Object.entries(outputs)) {
    const path = `Outputs.${name}`;
    if (!/^[A-Za-z0-9]+$/.test(name)) v.issue(path, 'output names are alphanumeric');
    if (!isObject(output) || !('Value' in output)) {
      v.issue(path, 'an output needs a Value');
      continue;
    }
    for (const key of Object.keys(output))
      if (!OUTPUT_KEYS.has(key)) v.issue(`${path}.${key}`, `unknown output attribute "${key}"`);
    v.expectKind(v.any(output.Value, `${path}.Value`), 'scalar', `${path}.Value`);
  }

  const cycle = findCycle(v.edges);
  if (cycle) v.issue('Resources', `circular dependency: ${cycle.join(' -> ')}`);
  return v.issues;
}

function findCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}
