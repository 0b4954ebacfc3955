import { describe, expect, it } from '@jest/globals';
import { parseReleaseTask } from '../../src/tasks/release-task.js';

const HEX = 'ab'.repeat(32);
const valid = { release: 'rel-1', step: 'reproduce', round: 2, inputModelId: 'sum-1', inputSha256: HEX, expectedSha256: 'cd'.repeat(32), approvals: ['a.b.c'] };

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('the release task the coordinator hands out', () => {
  it('is accepted when complete', () => {
    expect(parseReleaseTask(JSON.stringify(valid))).toEqual(valid);
    const { expectedSha256: _, ...decrypt } = { ...valid, step: 'decrypt' };
    expect(parseReleaseTask(JSON.stringify(decrypt)).step).toBe('decrypt');
    // The coordinator does not tell the reproducing site the first digest (blind reproduction).
    const { expectedSha256: __, ...blind } = valid;
    expect(parseReleaseTask(JSON.stringify(blind)).step).toBe('reproduce');
    // A task without approvals (an older coordinator) parses as a release nobody signed; the quorum check then refuses it.
    const { approvals: ___, ...unsigned } = valid;
    expect(parseReleaseTask(JSON.stringify(unsigned)).approvals).toEqual([]);
  });

  it.each([
    ['not JSON', '{'],
    ['an unknown step', JSON.stringify({ ...valid, step: 'publish' })],
    ['round 0 (the public initial model is never released)', JSON.stringify({ ...valid, round: 0 })],
    ['an input digest that is not SHA-256 hex', JSON.stringify({ ...valid, inputSha256: 'xyz' })],
    ['a named digest that is not SHA-256 hex', JSON.stringify({ ...valid, expectedSha256: 'xyz' })],
    ['approvals that are not strings', JSON.stringify({ ...valid, approvals: [{ signer: 'site-a' }] })],
  ])('is refused with TASK_INVALID for %s', (_, json) => {
    expect(codeOf(() => parseReleaseTask(json))).toBe('TASK_INVALID');
  });
});
