/**
 * A small declarative schema for the policy file, so every refusal names the exact key path and
 * what was expected there (`environments.prod.rules[2].action: "block" is not one of stop, warn`).
 */
export type Schema =
  | { readonly type: 'string'; readonly enum?: readonly string[]; readonly pattern?: RegExp; readonly patternHint?: string }
  | { readonly type: 'integer'; readonly enum?: readonly number[]; readonly minimum?: number }
  | { readonly type: 'array'; readonly items: Schema; readonly minItems?: number }
  | {
      readonly type: 'object';
      readonly properties: Readonly<Record<string, Property>>;
      /** Any key is accepted (parameters are checked per trigger elsewhere). */
      readonly open?: boolean;
      /** Keys starting with `x-` are accepted and ignored, e.g. to hold YAML anchors. */
      readonly extensions?: boolean;
    };

export interface Property {
  readonly schema: Schema;
  readonly required?: boolean;
}

/** Returns the first violation as `path: problem`, or null. */
export function checkSchema(value: unknown, schema: Schema, path: string): string | null {
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return `${path}: expected a string, found ${describe(value)}`;
      if (schema.enum && !schema.enum.includes(value)) return `${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`;
      if (schema.pattern && !schema.pattern.test(value)) return `${path}: ${JSON.stringify(value)} is not ${schema.patternHint ?? `matching ${schema.pattern}`}`;
      if (value.trim() === '') return `${path}: must not be empty`;
      return null;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `${path}: expected an integer, found ${describe(value)}`;
      if (schema.enum && !schema.enum.includes(value)) return `${path}: ${value} is not one of ${schema.enum.join(', ')}`;
      if (schema.minimum !== undefined && value < schema.minimum) return `${path}: ${value} is less than ${schema.minimum}`;
      return null;
    case 'array': {
      if (!Array.isArray(value)) return `${path}: expected a list, found ${describe(value)}`;
      if (schema.minItems !== undefined && value.length < schema.minItems) return `${path}: needs at least ${schema.minItems} item(s)`;
      for (const [index, item] of value.entries()) {
        const problem = checkSchema(item, schema.items, `${path}[${index}]`);
        if (problem) return problem;
      }
      return null;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path}: expected a mapping, found ${describe(value)}`;
      const record = value as Record<string, unknown>;
      const prefix = path === '' ? '' : `${path}.`;
      if (!schema.open) {
        for (const key of Object.keys(record)) {
          if (!Object.hasOwn(schema.properties, key) && !(schema.extensions && key.startsWith('x-'))) {
            return `${prefix}${key}: unknown key (allowed here: ${Object.keys(schema.properties).join(', ')})`;
          }
        }
      }
      for (const [key, property] of Object.entries(schema.properties)) {
        if (!Object.hasOwn(record, key) || record[key] === undefined) {
          if (property.required) return `${prefix}${key}: required key is missing`;
          continue;
        }
        const problem = checkSchema(record[key], property.schema, `${prefix}${key}`);
        if (problem) return problem;
      }
      return null;
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
