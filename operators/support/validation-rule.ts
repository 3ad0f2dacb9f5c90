import { type Static, Type } from '@sinclair/typebox';

/** Value types a `type` rule checks. */
export const RULE_TYPES = [
  'string',
  'integer',
  'number',
  'boolean',
  'timestamp',
  'object',
  'array',
  'bytes',
] as const;

/** Checks that read one field; a rule holds exactly one check, of these or `expr`/`function`. */
export const FIELD_CHECKS = ['not_null', 'regex', 'range', 'in', 'type', 'length', 'unique'] as const;

/** Every check a rule may hold (exactly one per rule). */
export const RULE_CHECKS = [...FIELD_CHECKS, 'expr', 'function'] as const;

const NUMBER_TEXT = '^-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?$';
const bound = Type.Union([Type.Number(), Type.String({ pattern: NUMBER_TEXT })], {
  description: 'A number (or its text, for exact decimals).',
});

/** JSON Schema (TypeBox) of one data-quality rule of a validate node. */
export const validationRuleSchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      description: 'Rule name: in dead letters, logs, failures and metrics.',
    }),
    field: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Field the rule checks (dotted for nested fields: address.city).',
      }),
    ),
    action: Type.Optional(
      Type.Union([Type.Literal('dlq'), Type.Literal('warn'), Type.Literal('fail')], {
        default: 'dlq',
        description:
          'On failure: dlq sets the record aside, warn passes it (counted, logged), fail stops the pipeline.',
      }),
    ),
    not_null: Type.Optional(Type.Literal(true, { description: 'The field must be present and not null.' })),
    regex: Type.Optional(
      Type.String({
        description: 'The field must be text matching this regular expression (JavaScript, unicode).',
      }),
    ),
    range: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(bound),
          max: Type.Optional(bound),
          min_inclusive: Type.Optional(Type.Boolean({ default: true })),
          max_inclusive: Type.Optional(Type.Boolean({ default: true })),
        },
        {
          additionalProperties: false,
          description: 'The field must be a number within these bounds (compared exactly).',
        },
      ),
    ),
    in: Type.Optional(
      Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        minItems: 1,
        description: 'The field must equal one of these values.',
      }),
    ),
    type: Type.Optional(
      Type.Union(
        RULE_TYPES.map((name) => Type.Literal(name)),
        {
          description:
            'The field must hold this type (timestamp: a date or ISO-8601 text; number: any numeric).',
        },
      ),
    ),
    length: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(Type.Integer({ minimum: 0 })),
          max: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        {
          additionalProperties: false,
          description: 'Length bounds of text (in characters), a list or bytes.',
        },
      ),
    ),
    unique: Type.Optional(
      Type.Object(
        {
          window: Type.Optional(
            Type.Integer({ minimum: 1, default: 100_000, description: 'Most values remembered.' }),
          ),
        },
        {
          additionalProperties: false,
          description: 'The field must not repeat a value among the last `window` distinct values.',
        },
      ),
    ),
    expr: Type.Optional(Type.String({ minLength: 1, description: 'CEL condition the record must meet.' })),
    function: Type.Optional(
      Type.Object(
        {
          module: Type.String({
            minLength: 1,
            description: 'Module path, relative to the config file (.js/.mjs; .ts under tsx).',
          }),
          export: Type.String({
            minLength: 1,
            description: 'Exported function (value, record) => true | false | reason.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** One data-quality rule of a validate node, as configured. */
export type ValidationRule = Static<typeof validationRuleSchema>;
