import { readFile } from 'node:fs/promises';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { MedfedError } from '../errors/medfed-error.js';

export class ConfigError extends MedfedError<'CONFIG_INVALID'> {}

/** An environment variable that overrides one dotted config key. */
export interface EnvBinding {
  readonly variable: string;
  readonly key: string;
  /** `list`: comma-separated values, blanks dropped. */
  readonly type: 'int' | 'number' | 'string' | 'bool' | 'list';
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function convert(binding: EnvBinding, raw: string): unknown {
  switch (binding.type) {
    case 'string': return raw;
    case 'list': return raw.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
    case 'bool':
      if (!['true', 'false', '1', '0'].includes(raw)) throw new ConfigError('CONFIG_INVALID', `${binding.variable}: "${raw}" is not true/false`);
      return raw === 'true' || raw === '1';
    case 'int':
      if (!/^-?\d+$/.test(raw)) throw new ConfigError('CONFIG_INVALID', `${binding.variable}: "${raw}" is not an integer`);
      return Number(raw);
    case 'number':
      if (!Number.isFinite(Number(raw)) || raw.trim() === '') throw new ConfigError('CONFIG_INVALID', `${binding.variable}: "${raw}" is not a number`);
      return Number(raw);
  }
}

/**
 * Configuration from a YAML/JSON file, then environment variables, then explicit overrides (flags),
 * validated against a schema with defaults filled in. A bad value is refused with the key it sits at.
 */
export async function loadConfig<S extends TSchema>(schema: S, options: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  bindings?: readonly EnvBinding[];
  overrides?: Record<string, unknown>;
}): Promise<Static<S>> {
  let base: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (err) {
      throw new ConfigError('CONFIG_INVALID', `cannot read config file ${options.file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    try {
      const parsed = parseYaml(text) as unknown;
      if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('the top level must be a mapping');
      base = (parsed ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError('CONFIG_INVALID', `config file ${options.file} is not valid YAML/JSON: ${(err as Error).message}`);
    }
  }
  const env = options.env ?? process.env;
  for (const binding of options.bindings ?? []) {
    const raw = env[binding.variable];
    if (raw !== undefined && raw !== '') setPath(base, binding.key, convert(binding, raw));
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(base, path, value);
  }
  const withDefaults = Value.Default(schema, base) as unknown;
  const errors = [...Value.Errors(schema, withDefaults)];
  if (errors.length > 0) {
    const e = errors.find((x) => x.keyword !== 'boolean') ?? errors[0]!;
    const key = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
    const detail = e.keyword === 'additionalProperties'
      ? `unknown key ${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ')}`
      : e.message;
    throw new ConfigError('CONFIG_INVALID', `invalid configuration at ${key}: ${detail}`, { key });
  }
  return withDefaults as Static<S>;
}
