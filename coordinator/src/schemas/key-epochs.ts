import Type from 'typebox';

/** A site joining a running job (`POST /v1/jobs/:id/sites`). */
export const AddJobSiteSchema = Type.Object({
  siteId: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
  role: Type.Optional(Type.Union([Type.Literal('trainer'), Type.Literal('evaluator')], { description: 'default trainer' })),
}, { additionalProperties: false });

/** A rotation asks for nothing but the job in its path (`POST /v1/jobs/:id/key-ceremony`). */
export const KeyCeremonySchema = Type.Object({}, { additionalProperties: false });

/** One key epoch as the API shows it: who is on it and how far its ceremony got; never key material. */
export const EpochViewSchema = Type.Object({
  epoch: Type.Integer({ minimum: 1 }),
  status: Type.Union([Type.Literal('signing'), Type.Literal('generating'), Type.Literal('ready'), Type.Literal('superseded')]),
  reason: Type.String(),
  requestedBy: Type.Union([Type.String(), Type.Null()]),
  sites: Type.Array(Type.String()),
  signed: Type.Array(Type.String()),
  generatingSite: Type.String(),
  keyId: Type.Union([Type.String(), Type.Null()]),
  joiners: Type.Array(Type.String(), { description: "sites that receive earlier epochs' keys with this epoch" }),
  createdAt: Type.Unknown(),
  readyAt: Type.Unknown(),
});

export const EpochChangeAnswer = Type.Object({
  job: Type.String(),
  sites: Type.Array(Type.String()),
  epoch: Type.Union([EpochViewSchema, Type.Null()], { description: 'the new key epoch (null for a plaintext job)' }),
});

export const JobKeysAnswer = Type.Object({ job: Type.String(), encrypted: Type.Boolean(), epochs: Type.Array(EpochViewSchema) });
