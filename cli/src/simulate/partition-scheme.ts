import { SimulateError } from './errors.js';

/** How rows are dealt to simulated sites. */
export type PartitionScheme =
  | { readonly kind: 'iid' }
  | { readonly kind: 'dirichlet'; readonly alpha: number }
  | { readonly kind: 'by-column'; readonly column: string };

const ACCEPTED_FORMS =
  'Accepted forms: iid (stratified, equal sizes), dirichlet:ALPHA (label skew, ALPHA > 0, e.g. dirichlet:0.5; smaller is more skewed), by-column:COLUMN (one group of rows per distinct value, e.g. by-column:hospital).';

/** Parses `iid`, `dirichlet:ALPHA` or `by-column:COLUMN`. */
export function parsePartitionScheme(spec: string): PartitionScheme {
  const invalid = (why: string): never => {
    throw new SimulateError('SIMULATE_PARTITION_SPEC_INVALID', `Partition scheme ${JSON.stringify(spec)} is not valid: ${why}. ${ACCEPTED_FORMS}`);
  };
  const text = spec.trim();
  if (text === 'iid') return { kind: 'iid' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const argument = colon < 0 ? '' : text.slice(colon + 1).trim();
  switch (kind) {
    case 'dirichlet': {
      const alpha = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(argument) ? Number(argument) : Number.NaN;
      if (!(alpha > 0 && Number.isFinite(alpha))) invalid(`ALPHA must be a positive number, got ${JSON.stringify(argument)}`);
      return { kind: 'dirichlet', alpha };
    }
    case 'by-column':
      if (argument === '') invalid('COLUMN is missing');
      return { kind: 'by-column', column: argument };
    default:
      return invalid(`unknown scheme ${JSON.stringify(kind)}`);
  }
}
