import canonicalize from 'canonicalize';
import { sha256Hex } from '../util/digest.js';
import type { StatsQuery } from './query.js';

/** SHA-256 of the query's canonical JSON (RFC 8785): what the sites answered and the result names. */
export function queryDigest(q: StatsQuery): string {
  return sha256Hex(canonicalize(q) ?? '');
}
