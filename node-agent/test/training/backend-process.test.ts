import { describe, it, expect } from '@jest/globals';
import { initTrainingBackend } from '../../src/training/backend.js';

describe('initTrainingBackend and process-wide handlers', () => {
  it('leaves the process\'s uncaughtException and unhandledRejection listeners as they were', async () => {
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    await initTrainingBackend();
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
  });
});
