/**
 * Text-level shortcuts between an event's JCS and its entry's JCS, for the hot loops of export and
 * verification (a million entries). In JCS an object member is exactly `"key":value` with members
 * sorted, so adding or removing the top-level `hash` and `prev_hash` members is a splice. Each
 * function returns null whenever the text is not of the expected shape (a member text that is not
 * unique, for example); callers then fall back to full canonicalisation, so a shortcut can only be
 * faster, never different.
 */

function uniqueIndex(text: string, needle: string): number {
  const i = text.indexOf(needle);
  return i !== -1 && text.indexOf(needle, i + 1) === -1 ? i : -1;
}

/**
 * The JCS of `{...event, prev_hash, hash}` from the JCS of a v1 event, whose top-level members sort
 * as action, actor, details, [hash], outcome, [prev_hash], request_id, …
 */
export function spliceEntryText(eventJcs: string, prevHash: string, hash: string): string | null {
  if (!eventJcs.startsWith('{"action":"')) return null;
  const outcome = uniqueIndex(eventJcs, ',"outcome":"');
  const requestId = uniqueIndex(eventJcs, ',"request_id":');
  if (outcome === -1 || requestId === -1 || requestId < outcome || eventJcs.indexOf(',"details":{') > outcome) return null;
  return `${eventJcs.slice(0, outcome)},"hash":"${hash}"${eventJcs.slice(outcome, requestId)},"prev_hash":"${prevHash}"${eventJcs.slice(requestId)}`;
}

function removeMember(text: string, member: string): string | null {
  const i = uniqueIndex(text, member);
  if (i === -1) return null;
  if (text[i - 1] === ',') return text.slice(0, i - 1) + text.slice(i + member.length);
  if (text[i - 1] === '{' && text[i + member.length] === ',') return text.slice(0, i) + text.slice(i + member.length + 1);
  return null;
}

/**
 * The JCS of the event from the canonical text of its entry, by removing the two chain members.
 * Only valid when `entryJcs` is known to be the canonical form of an entry with these two values.
 */
export function eventTextOfEntry(entryJcs: string, prevHash: string, hash: string): string | null {
  const withoutHash = removeMember(entryJcs, `"hash":"${hash}"`);
  return withoutHash === null ? null : removeMember(withoutHash, `"prev_hash":"${prevHash}"`);
}

/** The JCS of a v1 event's `details` member, cut from the event's JCS. */
export function detailsTextOfEvent(eventJcs: string): string | null {
  const start = uniqueIndex(eventJcs, ',"details":{');
  const end = uniqueIndex(eventJcs, '},"outcome":"');
  return start === -1 || end === -1 || end < start ? null : eventJcs.slice(start + 11, end + 1);
}
