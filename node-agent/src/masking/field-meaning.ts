/**
 * What a field name says about dates and ages, in the spellings and languages clinical extracts use
 * (CMS, OMOP, FHIR, MIMIC, and German, French, Spanish, Italian, Portuguese, Dutch, Scandinavian,
 * Polish and Finnish names). Input is a normalised name (see normaliseFieldName: lower-case ASCII
 * words joined by `_`). Compounds are understood: `geburtsdatum`, `dateofbirth`, `BENEBIRTHDT`.
 *
 * - `birth-date`: a date of birth (`dob`, `birth_dt`, `birthDate`, `fecha_nacimiento`...).
 * - `birth-year`: a year of birth (`year_of_birth`, `yob`, `geburtsjahr`, MIMIC `anchor_year`).
 * - `birth-date-part`: a month or day of birth alone (OMOP `month_of_birth`): not a year, so Safe
 *   Harbor removes it.
 * - `birth-hint`: "birth" with nothing else (`pt_birth`): a birth date if the values are dates.
 * - `age`: an age (`age`, `pt_age`, `age_at_admission`, MIMIC `anchor_age`, `edad`, `alter`...).
 * - `date`: any other date of the individual (admission, discharge, death, service dates...).
 */
export type NameMeaning = 'birth-date' | 'birth-year' | 'birth-date-part' | 'birth-hint' | 'age' | 'date';

/** Words that mean "birth"; `token`: only as a whole word (too short to find inside others). */
const BIRTH_STEMS: readonly { readonly stem: string; readonly token?: boolean }[] = [
  { stem: 'nascimento' }, { stem: 'nacimiento' }, { stem: 'naissance' }, { stem: 'urodzenia' }, { stem: 'geboorte' },
  { stem: 'geburts' }, { stem: 'fodelse' }, { stem: 'fodsels' }, { stem: 'nascita' }, { stem: 'syntyma' },
  { stem: 'geburt' }, { stem: 'fodsel' }, { stem: 'birth' },
  { stem: 'naiss', token: true }, { stem: 'nasc', token: true }, { stem: 'nac', token: true }, { stem: 'geb', token: true }, { stem: 'born', token: true },
];

/** Abbreviations that are a birth date (or year) on their own, as whole words. */
const BIRTH_DATE_WORDS: ReadonlySet<string> = new Set(['dob', 'ddn', 'bdate', 'gebdat', 'gebdatum', 'birthdate', 'dateofbirth']);
const BIRTH_YEAR_WORDS: ReadonlySet<string> = new Set(['yob']);

/** Words for a date or a point in time (short ones count only as whole words, see startsWithWord). */
const DATE_WORDS = ['datetime', 'timestamp', 'date', 'datum', 'dato', 'data', 'fecha', 'time', 'jour', 'giorno', 'dzien', 'aika', 'paiva', 'dttm', 'dte', 'dt', 'ts', 'fec', 'day', 'tag', 'dia', 'dag'];
const YEAR_WORDS = ['year', 'yyyy', 'jahr', 'annee', 'anno', 'jaar', 'vuosi', 'ano', 'yr', 'rok'];
const MONTH_WORDS = ['month', 'monat', 'mois', 'mese', 'maand', 'mes', 'mth', 'mon', 'mm'];
/** Before "birth" ("day of birth"), these name a part of the date; after it ("birthday"), the date. */
const DAY_WORDS = ['giorno', 'jour', 'day', 'tag', 'dia', 'dag'];
/** Joining words between a date word and "birth" ("date of birth", "fecha de nacimiento"). */
const CONNECTORS = ['della', 'del', 'van', 'der', 'des', 'of', 'de', 'di', 'da', 'do', 'du', 'd'];
/** What may stand before "birth" alone and still leave it a birth field ("pt_birth"). */
const SUBJECT_WORDS: ReadonlySet<string> = new Set(['pt', 'patients', 'patient', 'bene', 'person', 'member', 'subject', 'subj', 'client', 'mother', 'father', 'child', 'baby', 'infant', 'newborn', 'p']);

const AGE_WORDS: ReadonlySet<string> = new Set(['age', 'ages', 'alter', 'edad', 'eta', 'idade', 'leeftijd', 'alder', 'wiek', 'ika', 'vek']);

/** Dates that are not births: names of CMS, OMOP, FHIR and MIMIC and their usual spellings. */
const DATE_NAME = new RegExp(
  [
    '(^|_)(date|datetime|timestamp|dttm|dte|dt|ts|dod|fecha|datum)(_|$)',
    '[a-z]datum($|_)',
    '_(at|on)$',
    '^(admitted|admission|discharged|discharge|death|deceased|died|visit|encounter|procedure|surgery|operation)(_time)?$',
    '(^|_)(admit|admission|disch|discharge|death|visit|chart|store|start|stop|end|in|out|edreg|edout|order|transfer)_?time$',
  ].join('|'),
);

/** The meaning of a normalised field name, or undefined when it says nothing about dates or ages. */
export function meaningOfName(normalised: string): NameMeaning | undefined {
  if (/(^|_)anchor_year(_|$)/.test(normalised)) return 'birth-year';
  const birth = birthMeaning(normalised);
  if (birth !== undefined) return birth;
  if (normalised.split('_').some((t) => AGE_WORDS.has(t))) return 'age';
  if (DATE_NAME.test(normalised)) return 'date';
  return undefined;
}

function birthMeaning(name: string): NameMeaning | undefined {
  const tokens = name.split('_');
  for (const [i, token] of tokens.entries()) {
    const before = tokens.slice(0, i).join('_');
    const after = tokens.slice(i + 1).join('_');
    // "dob", and "ptdob" / "patientdob": an abbreviation glued to the subject it belongs to.
    const word = withoutSubject(token);
    if (BIRTH_YEAR_WORDS.has(word)) return 'birth-year';
    if (BIRTH_DATE_WORDS.has(word)) return partOrYear(before, after) ?? 'birth-date';
  }
  for (const { stem, token } of BIRTH_STEMS) {
    const at = token === true ? tokenIndex(name, stem) : name.indexOf(stem);
    if (at < 0) continue;
    const before = stripConnectors(name.slice(0, at));
    const after = name.slice(at + stem.length).replace(/^_+/, '');
    const meaning = partOrYear(before, after);
    if (meaning !== undefined) return meaning;
    if (startsWithWord(after, DATE_WORDS) || endsWithWord(before, DATE_WORDS)) return 'birth-date';
    if (stem === 'born') return 'birth-date';
    if (after === '' && before.split('_').every((t) => t === '' || SUBJECT_WORDS.has(t))) return 'birth-hint';
  }
  return undefined;
}

/** A year word next to "birth" makes a birth year; a month (or a day before it), a part of a date. */
function partOrYear(before: string, after: string): NameMeaning | undefined {
  if (startsWithWord(after, YEAR_WORDS) || endsWithWord(before, YEAR_WORDS)) return 'birth-year';
  if (startsWithWord(after, MONTH_WORDS) || endsWithWord(before, MONTH_WORDS) || endsWithWord(before, DAY_WORDS)) return 'birth-date-part';
  return undefined;
}

function tokenIndex(name: string, word: string): number {
  const m = new RegExp(`(^|_)${word}(_|$)`).exec(name);
  return m === null ? -1 : m.index + m[1]!.length;
}

/** "date_of_" -> "date", "fechade" -> "fecha": drops separators and joining words at the end. */
function stripConnectors(before: string): string {
  let text = before.replace(/_+$/, '');
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of CONNECTORS) {
      if (text.endsWith(c) && text.length > c.length + 1 && !CONNECTORS.includes(text)) {
        const rest = text.slice(0, -c.length);
        // A connector glued to a word is only taken off when a date, year, month or day word remains.
        if (rest.endsWith('_') || endsWithWord(rest, [...DATE_WORDS, ...YEAR_WORDS, ...MONTH_WORDS])) {
          text = rest.replace(/_+$/, '');
          changed = true;
          break;
        }
      }
    }
  }
  return text;
}

function withoutSubject(token: string): string {
  for (const subject of SUBJECT_WORDS) {
    if (subject.length > 1 && token.length > subject.length && token.startsWith(subject)) return token.slice(subject.length);
  }
  return token;
}

/**
 * Whether `text` begins with one of `words`: short words (< 4 letters) only as a whole word or
 * followed by another such word ("dttm", "dtdate").
 */
function startsWithWord(text: string, words: readonly string[]): boolean {
  return words.some(
    (w) => text === w || text.startsWith(`${w}_`) || (text.startsWith(w) && (w.length >= 4 || startsWithWord(text.slice(w.length), [...DATE_WORDS, ...YEAR_WORDS]))),
  );
}

/** Whether `text` ends with one of `words`: short words (< 4 letters) only as a whole word. */
function endsWithWord(text: string, words: readonly string[]): boolean {
  return words.some((w) => text === w || text.endsWith(`_${w}`) || (w.length >= 4 && text.endsWith(w)));
}
