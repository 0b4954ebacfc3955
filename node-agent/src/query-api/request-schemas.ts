import Type from 'typebox';

const FIELD = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' });
const CELL = Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean(), Type.Null()]);
const STUDY = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });
const WHERE = Type.Array(Type.Object({ field: FIELD, equals: CELL }, { additionalProperties: false }), { maxItems: 16 });

/** GET /v1/records: select=a,b  where=field=value (repeatable)  orderBy=a,-b  study  limit  offset. */
export const RecordsQueryString = Type.Object({
  select: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^,]+(,[^,]+)*$' })),
  where: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 1024, pattern: '^[^=]+=' }), { maxItems: 16 })),
  orderBy: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^-?[^,-][^,]*(,-?[^,-][^,]*)*$' })),
  study: Type.Optional(STUDY),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
}, { additionalProperties: false });

/** POST /v1/records/query: the same question as a JSON body. */
export const RecordsBody = Type.Object({
  select: Type.Optional(Type.Array(FIELD, { minItems: 1, maxItems: 256 })),
  where: Type.Optional(WHERE),
  orderBy: Type.Optional(Type.Array(Type.Object({ field: FIELD, direction: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])) }, { additionalProperties: false }), { maxItems: 8 })),
  study: Type.Optional(STUDY),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
}, { additionalProperties: false });

/** POST /v1/aggregates. */
export const AggregatesBody = Type.Object({
  groupBy: Type.Array(FIELD, { minItems: 1, maxItems: 5 }),
  where: Type.Optional(WHERE),
  stats: Type.Optional(Type.Array(FIELD, { minItems: 1, maxItems: 16 })),
  study: Type.Optional(STUDY),
  onSmallCell: Type.Optional(Type.Union([Type.Literal('suppress'), Type.Literal('refuse')])),
}, { additionalProperties: false });

export const EmptyQuery = Type.Object({}, { additionalProperties: false });
