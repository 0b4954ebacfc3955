import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { MedfedError } from '../errors/index.js';

/**
 * A federated statistics query: which numeric fields to aggregate, which declared groups to split
 * them by, which statistics to publish and how. Every group is enumerated here (declared categories),
 * so every site sends a vector of the same layout and a site never reveals which groups it has.
 */
export const STATISTICS = ['count', 'sum', 'mean', 'variance', 'histogram', 'quantiles'] as const;
export type Statistic = (typeof STATISTICS)[number];

/** Smallest number of patients a published cell may describe (a site's policy may raise it). */
export const DEFAULT_MIN_CELL_SIZE = 11;
/** Fixed-point decimals of aggregated values: x is summed as round(x * 10^decimals). */
export const DEFAULT_DECIMALS = 2;

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]+$' });
const SiteId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });

export const StatsQuerySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  /** Numeric fields to aggregate. Values are clamped to [lower, upper] (the DP sensitivity and histogram range). */
  fields: Type.Array(Type.Object({
    name: Name,
    lower: Type.Number({ minimum: -1e9, maximum: 1e9 }),
    upper: Type.Number({ minimum: -1e9, maximum: 1e9 }),
    /** Equal-width histogram bins over [lower, upper] (histogram and quantiles). */
    bins: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  }, { additionalProperties: false }), { maxItems: 32, default: [] }),
  /** Grouping fields with every category declared; rows with another value are not counted. */
  groupBy: Type.Array(Type.Object({
    field: Name,
    categories: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 }),
  }, { additionalProperties: false }), { maxItems: 4, default: [] }),
  statistics: Type.Array(Type.Union([Type.Literal('count'), Type.Literal('sum'), Type.Literal('mean'), Type.Literal('variance'), Type.Literal('histogram'), Type.Literal('quantiles')]), { minItems: 1, maxItems: STATISTICS.length, default: ['count'] }),
  /** Quantiles interpolated from the pooled histogram (resolution: one bin width). */
  quantiles: Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { maxItems: 99, default: [0.25, 0.5, 0.75] }),
  sites: Type.Array(SiteId, { minItems: 1, maxItems: 1000 }),
  minCellSize: Type.Integer({ minimum: 1, maximum: 1_000_000, default: DEFAULT_MIN_CELL_SIZE }),
  /** Fixed-point decimals of values (sums are exact at this resolution). */
  decimals: Type.Integer({ minimum: 0, maximum: 6, default: DEFAULT_DECIMALS }),
  /** Optional differential privacy: each site adds discrete noise before encrypting and charges its ledger. */
  dp: Type.Optional(Type.Object({
    epsilon: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    delta: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 0.01 })),
    mechanism: Type.Union([Type.Literal('laplace'), Type.Literal('gaussian')], { default: 'laplace' }),
  }, { additionalProperties: false })),
  encryption: Type.Object({
    enabled: Type.Boolean({ default: true }),
    paramSet: Type.String({ minLength: 1, maxLength: 64, default: 'bfv-n4096-q60-t48-2x23' }),
  }, { additionalProperties: false, default: {} }),
  deadlineSeconds: Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600, default: 600 }),
}, { additionalProperties: false });

export type StatsQuery = Static<typeof StatsQuerySchema>;
export type StatsField = StatsQuery['fields'][number];
export type StatsGroupBy = StatsQuery['groupBy'][number];

/** Largest vector a query may produce (cells x values per cell). */
export const MAX_STATS_VALUES = 200_000;

/**
 * Fills defaults and validates a query (schema, then consistency); every refusal names what to fix.
 * Used at every boundary: the CLI, the coordinator's REST route and the site before it computes.
 */
export function parseStatsQuery(input: unknown): StatsQuery {
  const value = Value.Default(StatsQuerySchema, Value.Clone(input ?? {})) as unknown;
  const errors = [...Value.Errors(StatsQuerySchema, value)];
  if (errors.length > 0) {
    const e = errors.find((x) => x.keyword !== 'boolean') ?? errors[0]!;
    const extra = e.keyword === 'additionalProperties'
      ? ` (${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ')})` : '';
    throw invalid(`${e.instancePath || '/'}: ${e.message}${extra}`);
  }
  const q = value as StatsQuery;
  const dup = (xs: readonly string[]) => xs.find((x, i) => xs.indexOf(x) !== i);
  const names = [...q.fields.map((f) => f.name), ...q.groupBy.map((g) => g.field)];
  const d = dup(names);
  if (d) throw invalid(`field "${d}" is used twice (a field is either aggregated or grouped by, once)`);
  const s = dup(q.sites);
  if (s) throw invalid(`site "${s}" is listed twice`);
  for (const g of q.groupBy) {
    const c = dup(g.categories);
    if (c) throw invalid(`groupBy "${g.field}": category "${c}" is declared twice`);
  }
  for (const f of q.fields) {
    if (!(f.upper > f.lower)) throw invalid(`field "${f.name}": upper (${f.upper}) must be greater than lower (${f.lower})`);
  }
  const needsFields = q.statistics.some((x) => x !== 'count');
  if (needsFields && q.fields.length === 0) throw invalid(`statistics ${q.statistics.join(', ')} need at least one field to aggregate`);
  if (q.dp?.mechanism === 'gaussian' && q.dp.delta === undefined) throw invalid('dp: the gaussian mechanism needs a delta');
  if (q.dp?.mechanism === 'laplace' && q.dp.delta !== undefined) throw invalid('dp: the laplace mechanism is pure epsilon-DP; drop delta');
  const cells = q.groupBy.reduce((n, g) => n * g.categories.length, 1);
  const perCell = valuesPerCell(q);
  if (cells * perCell > MAX_STATS_VALUES) throw invalid(`the query needs ${cells} cells x ${perCell} values; at most ${MAX_STATS_VALUES} values are allowed`);
  return q;
}

/** A query from YAML (or JSON) text. */
export function parseStatsQueryText(text: string, source = 'query'): StatsQuery {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw invalid(`${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseStatsQuery(value);
}

function valuesPerCell(q: StatsQuery): number {
  const sums = q.statistics.some((s) => s === 'sum' || s === 'mean' || s === 'variance');
  const hist = q.statistics.some((s) => s === 'histogram' || s === 'quantiles');
  return 1 + q.fields.reduce((n, f) => n + 1 + (sums ? 1 : 0) + (q.statistics.includes('variance') ? 1 : 0) + (hist ? f.bins : 0), 0);
}

function invalid(message: string): MedfedError {
  return new MedfedError('JOB_SPEC_INVALID', `statistics query ${message}`);
}
