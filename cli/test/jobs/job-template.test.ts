import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { MIN_ENCRYPTED_SITES, type JobSpec } from '@medfed/proto';
import { JobSpecSchema } from '@medfed/coordinator/schemas/job';
import { validated } from '@medfed/coordinator/schemas/validate';
import { jobSpecTemplate, parseSiteList } from '../../src/commands/jobs.js';

/** The template as the coordinator reads it: YAML, then its schema with defaults (POST /v1/jobs). */
function asCoordinatorReadsIt(text: string): JobSpec {
  return validated(JobSpecSchema, parse(text), 'job') as unknown as JobSpec;
}

describe('medfed jobs template', () => {
  it.each<[string, Parameters<typeof jobSpecTemplate>[0], boolean, number]>([
    ['three sites: encrypted, minSites 3', { sites: ['site-a', 'site-b', 'site-c'] }, true, 3],
    ['five sites: encrypted, minSites 5', { sites: ['a', 'b', 'c', 'd', 'e'] }, true, 5],
    ['no --sites: three placeholders, encrypted', {}, true, 3],
    ['two sites: encryption off (it needs three), minSites 2', { sites: ['site-a', 'site-b'] }, false, 2],
    ['one site: encryption off, minSites 1', { sites: ['site-a'] }, false, 1],
    ['--plaintext: encryption off', { sites: ['site-a', 'site-b', 'site-c'], plaintext: true }, false, 3],
  ])('%s, and valid against the JobSpec schema as printed', (_why, options, encrypted, minSites) => {
    const spec = asCoordinatorReadsIt(jobSpecTemplate(options));
    expect(spec.encryption?.enabled).toBe(encrypted);
    expect(spec.minSites).toBe(minSites);
    expect(spec.sites).toEqual(options?.sites ?? ['site-a', 'site-b', 'site-c']);
    // The coordinator's consistency rules beyond the schema (federation/engine.ts).
    expect(spec.minSites).toBeLessThanOrEqual(spec.sites.length);
    expect(spec.features).not.toContain(spec.label);
    expect(new Set(spec.classes).size).toBe(spec.classes.length);
    if (encrypted) {
      expect(spec.sites.length).toBeGreaterThanOrEqual(MIN_ENCRYPTED_SITES);
      expect(spec.minSites).toBeGreaterThanOrEqual(MIN_ENCRYPTED_SITES);
      expect(spec.strategy.name).not.toBe('fedavgm');
    }
  });

  it('says in a comment why minSites is what it is', () => {
    const text = jobSpecTemplate({ sites: ['site-a', 'site-b', 'site-c'] });
    expect(text).toMatch(/# Encryption is on, and the coordinator refuses an encrypted job whose minSites is below 3\n# \(MIN_ENCRYPTED_SITES/);
    expect(text).toMatch(/its default of 1 cannot stand/);
    expect(text).toContain('\nminSites: 3\n');
    expect(jobSpecTemplate({ sites: ['site-a'] })).toMatch(/# Encryption is off: it needs at least 3 training sites and 1 listed/);
  });

  it('keeps every explanation a comment: the values alone are what the YAML holds', () => {
    const spec = parse(jobSpecTemplate({ sites: ['site-a', 'site-b', 'site-c'], name: 'Sepsis: "risk" #1' })) as Record<string, unknown>;
    expect(spec.name).toBe('Sepsis: "risk" #1');
    expect(Object.keys(spec).sort()).toEqual(['classes', 'encryption', 'features', 'label', 'minSites', 'model', 'name', 'rounds',
      'roundDeadlineSeconds', 'sites', 'standardization', 'strategy', 'training'].sort());
    expect(spec.classes).toEqual(['no', 'yes']);
  });

  it.each([['site-a,site-b', ['site-a', 'site-b']], [' site-a , site-b ,', ['site-a', 'site-b']]])('parses --sites %j', (value, sites) => {
    expect(parseSiteList(value)).toEqual(sites);
  });

  it.each([[''], ['Site A'], ['site-a,site-a'], ['-a']])('refuses --sites %j', (value) => {
    expect(() => parseSiteList(value)).toThrow();
  });
});
