import { describe, expect, it } from '@jest/globals';
import { normalizeFormatFlag } from '../../src/format-option.js';

const argv = (...rest: string[]) => ['node', 'medfed', ...rest];
const none = () => false;

describe('--format on every data command', () => {
  it('maps --format json to the --json flag of commands that have it', () => {
    expect(normalizeFormatFlag(argv('privacy', 'epsilon', '--steps', '10', '--format', 'json'), none)).toEqual(argv('privacy', 'epsilon', '--steps', '10', '--json'));
    expect(normalizeFormatFlag(argv('simulate', '--format=json', '--data', 'x.csv'), none)).toEqual(argv('simulate', '--json', '--data', 'x.csv'));
  });
  it('drops --format text (the default) and keeps an unknown format for the command to refuse', () => {
    expect(normalizeFormatFlag(argv('model', 'verify', 'dir', '--format', 'text'), none)).toEqual(argv('model', 'verify', 'dir'));
    expect(normalizeFormatFlag(argv('model', 'verify', 'dir', '--format', 'xml'), none)).toEqual(argv('model', 'verify', 'dir', '--format', 'xml'));
  });
  it('leaves commands that declare --format themselves alone', () => {
    const native = (path: string[]) => path.join(' ') === 'runs ls' || path.join(' ') === 'agent preflight';
    expect(normalizeFormatFlag(argv('runs', 'ls', '--format', 'json'), native)).toEqual(argv('runs', 'ls', '--format', 'json'));
    expect(normalizeFormatFlag(argv('agent', 'preflight', '--format', 'json'), native)).toEqual(argv('agent', 'preflight', '--format', 'json'));
  });
});
