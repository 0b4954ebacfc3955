import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from '@jest/globals';
import { fromServiceError, parseOpenRound } from '../../src/transport/client.js';

/** A refusal as grpc-js hands it to the client, with the trailers the coordinator set. */
function refusal(trailers: Record<string, string>): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error('ROUND_CLOSED: round 2 is closed'), { code: grpc.status.FAILED_PRECONDITION, details: 'ROUND_CLOSED: round 2 is closed', metadata });
}

describe('the medfed-open-round trailer of a ROUND_CLOSED refusal', () => {
  it('is exposed on the error as the open round when it is a positive integer', () => {
    const err = fromServiceError(refusal({ 'medfed-code': 'ROUND_CLOSED', 'medfed-open-round': '7' }));
    expect(err).toMatchObject({ code: 'ROUND_CLOSED', openRound: 7, message: 'round 2 is closed' });
    expect(fromServiceError(refusal({ 'medfed-code': 'ROUND_CLOSED' })).openRound).toBeUndefined();
  });

  it('is ignored unless it is plain decimal digits of a positive safe integer', () => {
    for (const bad of ['0', '-1', '07', '7x', '1e3', '2.0', ' 7', '', '0x10', '99999999999999999']) {
      expect([bad, parseOpenRound(bad)]).toEqual([bad, undefined]);
      expect(fromServiceError(refusal({ 'medfed-code': 'ROUND_CLOSED', 'medfed-open-round': bad })).openRound).toBeUndefined();
    }
    expect(parseOpenRound(undefined)).toBeUndefined();
    expect(parseOpenRound(Buffer.from('3'))).toBeUndefined();
    expect(parseOpenRound('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });
});
