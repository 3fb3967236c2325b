/**
 * What changed between two Avro schemas, in words a person can act on, for the error raised when the Schema
 * Registry refuses a schema as incompatible: fields added without a default, fields removed, types changed
 * (including optional ↔ required), records renamed. It does not decide compatibility (the registry does); it
 * explains the difference.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

type Node =
  | { kind: 'primitive'; type: string }
  | { kind: 'record'; fullName: string; fields: { name: string; type: Node; hasDefault: boolean }[] }
  | { kind: 'enum'; fullName: string; symbols: string[] }
  | { kind: 'fixed'; fullName: string; size: number }
  | { kind: 'array'; items: Node }
  | { kind: 'map'; values: Node }
  | { kind: 'union'; branches: Node[] };

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

function qualify(name: string, namespace: string | null): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function parse(schema: Json, namespace: string | null, names: Map<string, Node>): Node {
  if (typeof schema === 'string') {
    if (PRIMITIVES.has(schema)) return { kind: 'primitive', type: schema };
    const named = names.get(qualify(schema, namespace)) ?? names.get(schema);
    if (!named) return { kind: 'primitive', type: schema };
    return named;
  }
  if (Array.isArray(schema)) return { kind: 'union', branches: schema.map((b) => parse(b, namespace, names)) };
  if (schema === null || typeof schema !== 'object') return { kind: 'primitive', type: String(schema) };
  const type = schema['type'];
  if (typeof type === 'string' && PRIMITIVES.has(type)) return { kind: 'primitive', type };
  if (type === 'array') return { kind: 'array', items: parse(schema['items'] ?? 'null', namespace, names) };
  if (type === 'map') return { kind: 'map', values: parse(schema['values'] ?? 'null', namespace, names) };
  if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
    const name = String(schema['name'] ?? '');
    const ns = typeof schema['namespace'] === 'string' ? schema['namespace'] || null : namespace;
    const fullName = qualify(name, ns);
    const ownNs = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : null;
    if (type === 'enum') {
      const node: Node = { kind: 'enum', fullName, symbols: (schema['symbols'] as string[] | undefined) ?? [] };
      names.set(fullName, node);
      return node;
    }
    if (type === 'fixed') {
      const node: Node = { kind: 'fixed', fullName, size: Number(schema['size'] ?? 0) };
      names.set(fullName, node);
      return node;
    }
    const node: Node & { kind: 'record' } = { kind: 'record', fullName, fields: [] };
    names.set(fullName, node);
    for (const f of (schema['fields'] as { [k: string]: Json }[] | undefined) ?? []) {
      node.fields.push({ name: String(f['name']), type: parse(f['type'] ?? 'null', ownNs, names), hasDefault: 'default' in f });
    }
    return node;
  }
  if (typeof type === 'object' && type !== null) return parse(type, namespace, names);
  return { kind: 'primitive', type: String(type) };
}

function label(node: Node): string {
  switch (node.kind) {
    case 'primitive':
      return node.type;
    case 'record':
    case 'enum':
    case 'fixed':
      return node.fullName;
    case 'array':
      return `array<${label(node.items)}>`;
    case 'map':
      return `map<${label(node.values)}>`;
    case 'union': {
      const nonNull = node.branches.filter((b) => !(b.kind === 'primitive' && b.type === 'null'));
      if (nonNull.length === 1 && nonNull.length < node.branches.length) return `optional ${label(nonNull[0]!)}`;
      return `union[${node.branches.map(label).join(', ')}]`;
    }
  }
}

function compare(oldNode: Node, newNode: Node, where: string, out: string[], seen: Set<string>): void {
  if (oldNode.kind === 'union' && newNode.kind === 'union' && oldNode.branches.length === newNode.branches.length) {
    const sameShape = oldNode.branches.every((b, i) => b.kind === newNode.branches[i]!.kind);
    if (sameShape) {
      oldNode.branches.forEach((b, i) => compare(b, newNode.branches[i]!, where, out, seen));
      return;
    }
  }
  if (oldNode.kind === 'record' && newNode.kind === 'record') {
    const key = `${oldNode.fullName}→${newNode.fullName}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (oldNode.fullName.split('.').pop() !== newNode.fullName.split('.').pop()) {
      out.push(`${where || 'the schema'}: record ${oldNode.fullName} was replaced by record ${newNode.fullName}`);
      return;
    }
    const before = new Map(oldNode.fields.map((f) => [f.name, f] as const));
    const after = new Map(newNode.fields.map((f) => [f.name, f] as const));
    for (const f of newNode.fields) {
      const old = before.get(f.name);
      if (!old) {
        out.push(`field "${f.name}" (${label(f.type)}) was added to record ${newNode.fullName}${f.hasDefault ? ' with a default' : ' without a default'}`);
      } else {
        compare(old.type, f.type, `field "${f.name}" of record ${newNode.fullName}`, out, seen);
      }
    }
    for (const f of oldNode.fields) {
      if (!after.has(f.name)) {
        out.push(`field "${f.name}" (${label(f.type)}) was removed from record ${oldNode.fullName}${f.hasDefault ? '' : ' (it had no default)'}`);
      }
    }
    return;
  }
  if (oldNode.kind === 'array' && newNode.kind === 'array') return compare(oldNode.items, newNode.items, `${where} items`, out, seen);
  if (oldNode.kind === 'map' && newNode.kind === 'map') return compare(oldNode.values, newNode.values, `${where} values`, out, seen);
  if (oldNode.kind === 'enum' && newNode.kind === 'enum') {
    const removed = oldNode.symbols.filter((s) => !newNode.symbols.includes(s));
    const added = newNode.symbols.filter((s) => !oldNode.symbols.includes(s));
    if (removed.length || added.length) {
      out.push(`${where}: enum symbols changed (added ${added.join(', ') || 'none'}; removed ${removed.join(', ') || 'none'})`);
    }
    return;
  }
  const a = label(oldNode);
  const b = label(newNode);
  if (a !== b) out.push(`${where || 'the schema'}: type changed from ${a} to ${b}`);
}

/** Human-readable differences from `oldSchema` (registered) to `newSchema` (refused); [] when none are found. */
export function describeAvroChanges(oldSchema: string | Json, newSchema: string | Json): string[] {
  const oldJson = (typeof oldSchema === 'string' ? JSON.parse(oldSchema) : oldSchema) as Json;
  const newJson = (typeof newSchema === 'string' ? JSON.parse(newSchema) : newSchema) as Json;
  const out: string[] = [];
  compare(parse(oldJson, null, new Map()), parse(newJson, null, new Map()), '', out, new Set());
  return out;
}
