import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { readCsv } from '@medfed/node-agent/masking/index';
import { runMask, type MaskCliOptions } from '../../src/commands/mask.js';
import { ExitCode } from '../../src/exit-codes.js';
import { runCli } from '../privacy/support/run-cli.js';

const PATIENTS = [
  'mrn,first_name,last_name,dob,age,zip,admission_date,sex,hba1c,notes',
  'MRN-0001,Ada,Lovelace,1931-03-04,94,03601,2023-05-06,F,6.1,"called Ada, left voicemail"',
  'MRN-0002,Bob,Smith,1970-12-01,53,02139,05/07/2023,M,7.4,',
  'MRN-0003,Cleo,Jones,1985-07-15,39,10001,2023-06-01,F,5.8,"=cmd|\' /C calc\'!A0"',
].join('\n');

const dirs: string[] = [];
async function workdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'medfed-mask-cli-'));
  dirs.push(dir);
  await writeFile(join(dir, 'patients.csv'), `${PATIENTS}\n`);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

function options(dir: string, over: Partial<MaskCliOptions> = {}): MaskCliOptions {
  return { data: join(dir, 'patients.csv'), role: 'researcher', study: 'S-1', out: join(dir, 'out.csv'), stateDir: join(dir, '.medfed-agent'), ...over };
}

describe('medfed mask', () => {
  it('writes what a researcher would see, with the site key created on first use (mode 0600), and says it is a preview', async () => {
    const dir = await workdir();
    const c = capture();
    expect(await runMask(options(dir), c.io)).toBe(ExitCode.OK);
    const text = await readFile(join(dir, 'out.csv'), 'utf8');
    const { columns, records } = readCsv(text);
    expect(columns).toEqual(['mrn', 'dob', 'age', 'zip', 'admission_date', 'sex', 'hba1c']);
    expect(records).toHaveLength(3);
    for (const raw of ['MRN-0001', 'Ada', 'Lovelace', '1931-03-04', '03601', '2023-05-06', 'voicemail', 'calc']) expect(text).not.toContain(raw);
    expect(records.every((r) => /^ps_[0-9a-f]{32}$/.test(r['mrn'] ?? ''))).toBe(true);
    expect((await stat(join(dir, 'out.csv'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, '.medfed-agent', 'pseudonym.key'))).mode & 0o777).toBe(0o600);
    expect(c.out()).toContain('preview: noise is not applied and no privacy budget was spent');
    expect(c.out()).toContain('field "first_name" is redacted and left out');

    // Same study, same key: the same pseudonyms; another study: different ones.
    expect(await runMask(options(dir, { out: join(dir, 'again.csv') }), capture().io)).toBe(ExitCode.OK);
    expect(readCsv(await readFile(join(dir, 'again.csv'), 'utf8')).records.map((r) => r['mrn'])).toEqual(records.map((r) => r['mrn']));
    expect(await runMask(options(dir, { out: join(dir, 'other.csv'), study: 'S-2' }), capture().io)).toBe(ExitCode.OK);
    const other = readCsv(await readFile(join(dir, 'other.csv'), 'utf8')).records.map((r) => r['mrn']);
    expect(other.filter((p) => records.some((r) => r['mrn'] === p))).toEqual([]);
  });

  it('shows noised fields as a marker and spends no budget', async () => {
    const dir = await workdir();
    const policy = {
      siteId: 'local',
      suppressRareQuasiIdentifiers: false,
      roles: { researcher: { fields: { hba1c: { transform: 'noise', mechanism: 'laplace', epsilon: 1, lower: 3, upper: 15 } } } },
    };
    await writeFile(join(dir, 'policy.json'), JSON.stringify(policy));
    const c = capture();
    expect(await runMask(options(dir, { policy: join(dir, 'policy.json') }), c.io)).toBe(ExitCode.OK);
    const { records } = readCsv(await readFile(join(dir, 'out.csv'), 'utf8'));
    expect(records.map((r) => r['hba1c'])).toEqual(['[noise: not applied in preview]', '[noise: not applied in preview]', '[noise: not applied in preview]']);
    expect(records.map((r) => r['age'])).toEqual(['90+', '53', '39']);
    expect(await readdir(join(dir, '.medfed-agent'))).not.toContain('privacy-ledger');
  });

  it('auditor: a metadata file, no values; opt-outs from the state dir are excluded', async () => {
    const dir = await workdir();
    await mkdir(join(dir, '.medfed-agent'), { mode: 0o700 });
    await writeFile(join(dir, '.medfed-agent', 'opt-out.txt'), '# patients who opted out\nMRN-0002\n');
    expect(await runMask(options(dir, { role: 'auditor' }), capture().io)).toBe(ExitCode.OK);
    const text = await readFile(join(dir, 'out.csv'), 'utf8');
    expect(readCsv(text).columns).toEqual(['field', 'type', 'class', 'values']);
    expect(readCsv(text).records.find((r) => r['field'] === 'notes')).toEqual({ field: 'notes', type: 'string', class: 'sensitive-clinical', values: '2' });
    expect(text).not.toMatch(/MRN-|Ada|02139/);
    expect(await runMask(options(dir, { role: 'clinician' }), capture().io)).toBe(ExitCode.OK);
    const clinician = await readFile(join(dir, 'out.csv'), 'utf8');
    expect(clinician).toContain('MRN-0001');
    expect(clinician).not.toContain('MRN-0002');
    // A formula in a note is neutralised for spreadsheets.
    expect(clinician).toContain(`,'=cmd|' /C calc'!A0\r\n`);
  });

  it.each([
    [{ role: 'janitor' }, ExitCode.USAGE, '--role must be one of clinician, researcher, auditor, training, site-steward'],
    [{ study: undefined }, ExitCode.USAGE, '--study is required for role researcher: fields "mrn" are pseudonymised'],
    [{ role: 'training' }, ExitCode.USAGE, '--features is required for role training'],
    [{ role: 'training', features: 'age,mrn' }, ExitCode.REFUSED, 'MASK_DIRECT_IDENTIFIER'],
    [{ data: '/nonexistent/patients.csv' }, ExitCode.DATA, '--data /nonexistent/patients.csv: cannot read it (ENOENT)'],
    [{ policy: '/nonexistent/policy.json' }, ExitCode.CONFIG, 'MASK_INVALID_POLICY'],
  ])('%j exits %i', async (over, code, message) => {
    const dir = await workdir();
    const c = capture();
    expect(await runMask(options(dir, over as Partial<MaskCliOptions>), c.io)).toBe(code);
    expect(c.err()).toContain(message);
  });

  it('refuses a pseudonymisation key readable by others, and malformed CSV, without writing output', async () => {
    const dir = await workdir();
    expect(await runMask(options(dir), capture().io)).toBe(ExitCode.OK);
    await rm(join(dir, 'out.csv'));
    await chmod(join(dir, '.medfed-agent', 'pseudonym.key'), 0o644);
    const c = capture();
    expect(await runMask(options(dir), c.io)).toBe(ExitCode.CONFIG);
    expect(c.err()).toContain('MASK_KEY_PERMISSIONS');
    expect(c.err()).toContain('chmod 600');
    await writeFile(join(dir, 'bad.csv'), 'a,b\n1,2,3\n');
    const d = capture();
    expect(await runMask(options(dir, { data: join(dir, 'bad.csv'), role: 'clinician' }), d.io)).toBe(ExitCode.DATA);
    expect(d.err()).toContain('MASK_INVALID_CSV');
    await expect(stat(join(dir, 'out.csv'))).rejects.toThrow();
  });

  it('as a process: writes the file and exits 0; a schema file leaves undeclared columns out', async () => {
    const dir = await workdir();
    const schema = {
      patientIdField: 'mrn',
      fields: [
        { name: 'mrn', type: 'string', class: 'direct-identifier', defaultTransform: 'pseudonymize' },
        { name: 'age', type: 'integer', class: 'quasi-identifier', generalization: 'age', defaultTransform: 'generalize' },
        { name: 'hba1c', type: 'number', class: 'clinical' },
      ],
    };
    await writeFile(join(dir, 'schema.json'), JSON.stringify(schema));
    await writeFile(join(dir, 'policy.json'), JSON.stringify({ siteId: 'local', suppressRareQuasiIdentifiers: false }));
    const args = ['mask', '--data', 'patients.csv', '--schema', 'schema.json', '--role', 'researcher', '--study', 'S-9', '--out', 'view.csv'];
    const [run, suppressed] = await Promise.all([
      runCli([...args, '--policy', 'policy.json'], dir),
      runCli([...args, '--out', 'default-policy.csv', '--json'], dir),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { columns, records } = readCsv(await readFile(join(dir, 'view.csv'), 'utf8'));
    expect(columns).toEqual(['mrn', 'age', 'hba1c']);
    expect(records.map((r) => r['age'])).toEqual(['90+', '53', '39']);
    expect(run.stdout).toContain('column "first_name" is not in the schema and is left out');
    // Under the default policy the three rows' ages are each rarer than 11: suppressed.
    expect(suppressed.code).toBe(0);
    expect(JSON.parse(suppressed.stdout)).toMatchObject({ role: 'researcher', preview: true, privacyBudgetSpent: false, summary: { suppressedRows: 3 } });
    expect(readCsv(await readFile(join(dir, 'default-policy.csv'), 'utf8')).records.map((r) => r['age'])).toEqual(['*', '*', '*']);
    expect((await stat(join(dir, '.medfed-agent', 'pseudonym.key'))).mode & 0o777).toBe(0o600);
    const missing = await runCli(['mask', '--data', 'patients.csv', '--out', 'view.csv'], dir);
    expect(missing.code).toBe(ExitCode.USAGE);
  }, 120_000);
});
