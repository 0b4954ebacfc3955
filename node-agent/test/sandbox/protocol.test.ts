import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, FrameError, FrameReader } from '../../src/sandbox/protocol/frames.js';
import { decodeTrainerRequest, encodeTrainerRequest } from '../../src/sandbox/protocol/messages.js';
import { request } from './support.js';

describe('trainer frames', () => {
  it('round-trips a request bit for bit, through any chunking', () => {
    fc.assert(fc.property(
      fc.float32Array({ minLength: 0, maxLength: 64 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
      (weights, cuts) => {
        const bytes = encodeFrame({ type: 'result', loss: 0.25 }, { weights, labels: Int32Array.from(weights, (_, i) => i - 3) });
        const reader = new FrameReader({ maxFrameBytes: 1 << 20 });
        const frames = [];
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const size = cuts[i % cuts.length]!;
          frames.push(...reader.push(bytes.subarray(at, at + size)));
          at += size;
        }
        expect(frames).toHaveLength(1);
        expect(Buffer.from(frames[0]!.blobs.weights!.buffer)).toEqual(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
        expect(Array.from(frames[0]!.blobs.labels!)).toEqual(Array.from(weights, (_, i) => i - 3));
        expect(frames[0]!.header).toMatchObject({ type: 'result', loss: 0.25 });
        expect(reader.pending).toBe(0);
      },
    ));
  });

  it('carries exactly the permitted fields of a training request', () => {
    const req = request({ n: 10 });
    const frame = decodeFrame(encodeTrainerRequest(req));
    expect(Object.keys(frame.header).sort()).toEqual(['arch', 'backend', 'blobs', 'd', 'n', 'settings', 'type', 'v']);
    expect(Object.keys(frame.blobs).sort()).toEqual(['weights', 'x', 'y']);
    const back = decodeTrainerRequest(frame);
    expect(Array.from(back.data.x)).toEqual(Array.from(req.data.x));
    expect(Array.from(back.data.y)).toEqual(Array.from(req.data.y));
    expect(back.settings).toEqual(req.settings);
  });

  it('refuses oversized, foreign and malformed frames', () => {
    const big = encodeFrame({ type: 'result' }, { weights: new Float32Array(1000) });
    expect(() => new FrameReader({ maxFrameBytes: 1000 }).push(big)).toThrow(/at most 1000 bytes/);
    expect(() => new FrameReader({ maxFrameBytes: 1 << 20 }).push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(FrameError);
    const good = encodeFrame({ type: 'result' }, { weights: new Float32Array(4) });
    expect(() => decodeFrame(Buffer.concat([good, Buffer.alloc(4)]))).toThrow(/length field/);
    const lying = Buffer.from(good);
    lying.writeUInt32LE(lying.readUInt32LE(4) + 4, 4);
    expect(() => decodeFrame(Buffer.concat([lying, Buffer.alloc(4)]))).toThrow(/trailing bytes/);
    const header = Buffer.from(JSON.stringify({ type: 'x', blobs: [{ name: 'w', dtype: 'f64', length: 1 }] }));
    const frame = Buffer.alloc(12 + header.length);
    frame.write('MFT1');
    frame.writeUInt32LE(4 + header.length, 4);
    frame.writeUInt32LE(header.length, 8);
    header.copy(frame, 12);
    expect(() => decodeFrame(frame)).toThrow(/malformed/);
  });
});
