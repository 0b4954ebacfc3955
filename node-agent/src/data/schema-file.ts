import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DataError } from './errors.js';
import { isDirectIdentifierName } from './identifiers.js';
import type { ColumnRole, ColumnType, DatasetSchema, FieldSpec } from './types.js';

const COLUMN_TYPES: readonly ColumnType[] = ['number', 'string', 'boolean', 'date'];
const COLUMN_ROLES: readonly ColumnRole[] = ['feature', 'label', 'identifier', 'ignored'];
const SCHEMA_KEYS = ['label', 'fields'] as const;
const FIELD_KEYS = ['name', 'type', 'role'] as const;

/**
 * Reads a schema file: JSON (`.json`) or YAML (anything else), shaped as
 * `{ label?: string, fields: [{ name, type: number|string|boolean|date, role: feature|label|identifier|ignored }] }`.
 */
export async function readSchemaFile(schemaPath: string): Promise<DatasetSchema> {
  let text: string;
  try {
    text = await readFile(schemaPath, 'utf8');
  } catch (error) {
    throw new DataError('DATA_FILE_UNREADABLE', `Cannot read schema file ${schemaPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
  let raw: unknown;
  try {
    raw = path.extname(schemaPath).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new DataError('DATA_SCHEMA_INVALID', `Schema file ${schemaPath} does not parse: ${reason}.`);
  }
  return validateSchema(raw, schemaPath);
}

/** Checks a parsed schema document; every complaint names the offending key. */
export function validateSchema(raw: unknown, source: string): DatasetSchema {
  const invalid = (what: string): never => {
    throw new DataError('DATA_SCHEMA_INVALID', `Schema ${source}: ${what}.`);
  };
  if (!isPlainObject(raw)) return invalid('the document must be an object with "fields" (and optionally "label")');
  for (const key of Object.keys(raw)) {
    if (!(SCHEMA_KEYS as readonly string[]).includes(key)) invalid(`unknown key "${key}" (allowed: ${SCHEMA_KEYS.join(', ')})`);
  }
  const label = raw['label'];
  if (label !== undefined && (typeof label !== 'string' || label.trim() === '')) invalid('"label" must be a non-empty string');
  const fieldsRaw = raw['fields'];
  if (!Array.isArray(fieldsRaw) || fieldsRaw.length === 0) return invalid('"fields" must be a non-empty list');

  const fields = fieldsRaw.map((entry: unknown, i): FieldSpec => {
    const at = `fields[${i}]`;
    if (!isPlainObject(entry)) return invalid(`${at} must be an object with name, type and role`);
    for (const key of Object.keys(entry)) {
      if (!(FIELD_KEYS as readonly string[]).includes(key)) invalid(`${at} has unknown key "${key}" (allowed: ${FIELD_KEYS.join(', ')})`);
    }
    const { name, type, role } = entry;
    if (typeof name !== 'string' || name.trim() === '') invalid(`${at}.name must be a non-empty string`);
    if (!COLUMN_TYPES.includes(type as ColumnType)) invalid(`${at}.type must be one of ${COLUMN_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
    if (!COLUMN_ROLES.includes(role as ColumnRole)) invalid(`${at}.role must be one of ${COLUMN_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
    return { name: (name as string).trim(), type: type as ColumnType, role: role as ColumnRole };
  });

  const seen = new Set<string>();
  for (const [i, field] of fields.entries()) {
    if (seen.has(field.name)) invalid(`fields[${i}].name "${field.name}" is declared twice`);
    seen.add(field.name);
    if ((field.role === 'feature' || field.role === 'label') && isDirectIdentifierName(field.name)) {
      invalid(`fields[${i}] "${field.name}" is a direct identifier and cannot have role ${field.role}; declare it role identifier`);
    }
  }
  const labelFields = fields.filter((f) => f.role === 'label');
  if (labelFields.length > 1) invalid(`only one field may have role label, found ${labelFields.map((f) => f.name).join(', ')}`);
  const declaredLabel = typeof label === 'string' ? label.trim() : undefined;
  if (declaredLabel !== undefined) {
    const field = fields.find((f) => f.name === declaredLabel);
    if (field !== undefined && field.role !== 'label') invalid(`"label" names "${declaredLabel}", but fields declares it with role ${field.role}`);
    if (labelFields[0] !== undefined && labelFields[0].name !== declaredLabel) {
      invalid(`"label" is "${declaredLabel}" but the field with role label is "${labelFields[0].name}"`);
    }
  }
  return { label: declaredLabel ?? labelFields[0]?.name, fields };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
