import { describe, expect, it } from '@jest/globals';
import { protocolRefusal } from '../../src/transport/grpc/protocol-check.js';

const coordinator = { protocol: '1.2', product: '0.4.0' };

describe('protocolRefusal', () => {
  it('serves the current minor, one behind and newer minors of the same major', () => {
    for (const served of ['1.2', '1.1', '1.3']) expect(protocolRefusal(served, coordinator)).toBeNull();
  });

  it('refuses an agent two minors behind with both versions and the upgrade', () => {
    const err = protocolRefusal('1.0', coordinator);
    expect(err?.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(err?.message).toBe('agent protocol 1.0 is older than this coordinator serves (1.2 and 1.1): upgrade the agent to medfed >= 0.4.0');
  });

  it('refuses an older major by upgrading the agent, a newer major by upgrading the coordinator', () => {
    expect(protocolRefusal('0.9', coordinator)?.message).toBe('agent protocol 0.9 is older than this coordinator serves (1.2 and 1.1): upgrade the agent to medfed >= 0.4.0');
    expect(protocolRefusal('2.0', coordinator)?.message)
      .toMatch(/^agent protocol 2\.0 is newer than this coordinator serves \(1\.2 and 1\.1, or a newer 1\.x\): upgrade the coordinator \(medfed 0\.4\.0\) to a release that speaks protocol 2/);
  });

  it('refuses an agent that announces nothing as predating version negotiation', () => {
    const err = protocolRefusal(undefined, coordinator);
    expect(err?.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(err?.message).toMatch(/predates version negotiation.*serves protocol 1\.2 and 1\.1: upgrade the agent to medfed >= 0\.4\.0$/);
  });

  it('refuses a version that is not MAJOR.MINOR, quoting at most 32 characters of it', () => {
    const err = protocolRefusal(`1.2.3${'x'.repeat(100)}`, coordinator);
    expect(err?.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(err?.message).toMatch(/^agent protocol version "1\.2\.3x{27}" is not MAJOR\.MINOR/);
  });
});
