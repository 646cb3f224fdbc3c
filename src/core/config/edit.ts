import { type Document, isMap, isScalar, isSeq, type Node, YAMLSeq } from 'yaml';
import type { ClientInput } from './schema.js';

/** yaml output options: never fold long lines (SSH keys must stay on one line). */
export const YAML_OUTPUT = { lineWidth: 0, minContentWidth: 0, flowCollectionPadding: false } as const;

/** Short lists of scalars read best inline: `allowedIps: [203.0.113.0/24]`. */
const FLOW_LISTS = new Set(['allowedIps', 'encryptedExtensions', 'environments']);

/** Appends a client to `clients:`, keeping every comment and the order of what is already there. */
export function addClientToDocument(document: Document, client: ClientInput): void {
  const node = document.createNode(stripUndefined(client)) as Node;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && FLOW_LISTS.has(String(pair.key.value)) && isSeq(pair.value)) pair.value.flow = true;
    }
  }
  const existing = document.get('clients', true);
  const clients = isSeq(existing) ? existing : new YAMLSeq();
  if (clients !== existing) document.set('clients', clients);
  // `clients: []` is flow style; clients read best as a block list.
  if (clients.items.length === 0) clients.flow = false;
  clients.items.push(node);
}

/** Removes the client named `name`; returns false when there is none. */
export function removeClientFromDocument(document: Document, name: string): boolean {
  const clients = document.get('clients', true);
  if (!isSeq(clients)) return false;
  const index = clients.items.findIndex((item) => isMap(item) && scalarValue(item.get('name', true)) === name);
  if (index < 0) return false;
  clients.items.splice(index, 1);
  return true;
}

export function clientNamesInDocument(document: Document): string[] {
  const clients = document.get('clients', true);
  if (!isSeq(clients)) return [];
  return clients.items.flatMap((item) => {
    const value = isMap(item) ? scalarValue(item.get('name', true)) : undefined;
    return typeof value === 'string' ? [value] : [];
  });
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

function stripUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripUndefined) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, stripUndefined(item)]),
    ) as T;
  }
  return value;
}

/** Index of the client named `name` in `clients:`, or -1. */
export function clientIndexInDocument(document: Document, name: string): number {
  return clientNamesInDocument(document).indexOf(name);
}
