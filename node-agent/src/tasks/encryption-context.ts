import { MedfedError, type EncryptedSettingsForJob, type Task } from '@medfed/proto';

/** What an encrypted task says about the model chain and the encoding (the agent validates it). */
export interface ChainLink {
  modelId: string;
  round: number;
  sha256: string;
  kind: 'weights' | 'update-sum' | 'stats-sum';
  totalWeight: number | null;
  contributors: string[] | null;
  /** Encrypted sums: the key epoch the sum is under and that epoch's key id (docs/crypto.md, "Key epochs"). */
  epoch?: number;
  keyId?: string;
}

export interface TaskEncryption {
  settings: EncryptedSettingsForJob & { weight: number; publicParams?: unknown; publicParamsManifest?: string };
  chain: ChainLink[];
  statsSum: ChainLink | null;
}

function parse<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new MedfedError('TASK_INVALID', `task carries ${what} that is not JSON`);
  }
}

const LINK_KINDS = new Set(['weights', 'update-sum', 'stats-sum']);

function checkLink(l: ChainLink, what: string): ChainLink {
  const ok = l && typeof l.modelId === 'string' && Number.isInteger(l.round) && /^[0-9a-f]{64}$/.test(l.sha256) && LINK_KINDS.has(l.kind)
    && (l.totalWeight === null || (typeof l.totalWeight === 'number' && l.totalWeight > 0 && l.totalWeight <= 1 + 1e-9))
    && (l.contributors === null || (Array.isArray(l.contributors) && l.contributors.every((c) => typeof c === 'string')))
    && (l.epoch === undefined || (Number.isSafeInteger(l.epoch) && l.epoch >= 1 && typeof l.keyId === 'string' && /^[0-9a-f]{32}$/.test(l.keyId)));
  if (!ok) throw new MedfedError('TASK_INVALID', `task carries an invalid ${what}`);
  return l;
}

/** Null for a plaintext task. */
export function taskEncryption(task: Task): TaskEncryption | null {
  if (!task.encryptionJson) return null;
  const settings = parse<TaskEncryption['settings']>(task.encryptionJson, 'encryption settings');
  const ok = typeof settings.paramSet === 'string' && /^[0-9a-f]{32}$/.test(settings.keyId) && Number.isInteger(settings.epoch)
    && settings.clipNorm > 0 && Number.isInteger(settings.fracBits) && Number.isInteger(settings.maxSites)
    && settings.weight >= 0 && settings.weight <= 1;
  if (!ok) throw new MedfedError('TASK_INVALID', 'task carries invalid encryption settings');
  const chain = parse<ChainLink[]>(task.modelChainJson || '[]', 'a model chain').map((l) => checkLink(l, 'model chain link'));
  if (chain.length > 0 && (chain[0]!.kind !== 'weights' || chain.slice(1).some((l) => l.kind !== 'update-sum'))) {
    throw new MedfedError('TASK_INVALID', 'the model chain must be the initial model followed by encrypted round sums');
  }
  const statsSum = task.statsSumJson ? checkLink(parse<ChainLink>(task.statsSumJson, 'a statistics sum'), 'statistics sum') : null;
  return { settings, chain, statsSum };
}
