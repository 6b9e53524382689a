/**
 * TypeBox builders for the two shapes TypeBox writes differently from our published schemas. TypeBox writes a
 * nullable as `anyOf: [X, null]` and a string enum as `anyOf` of consts; the API has always published
 * `type: [X, 'null']` and `{ type: 'string', enum }`. Those give other Ajv error paths, another Swagger page and
 * a slower fast-json-stringify, so these helpers keep the published JSON and only add the static type.
 */
import { Type, type Static, type TSchema, type TSchemaOptions, type TUnsafe } from 'typebox';

/** `{ type: [T, 'null'], …same keywords }` typed as `Static<T> | null`. */
export function Nullable<T extends TSchema>(schema: T, options: TSchemaOptions = {}): TUnsafe<Static<T> | null> {
  const { type, ...rest } = schema as unknown as { type: string } & Record<string, unknown>;
  if (typeof type !== 'string') throw new TypeError('Nullable needs a schema with a single type');
  return Type.Unsafe<Static<T> | null>({ type: [type, 'null'], ...rest, ...options } as unknown as TSchema);
}

/** `{ type: 'string', enum: [...] }` typed as the union of its values. */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: TSchemaOptions = {},
): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options } as unknown as TSchema);
}

/** `{ type: 'integer', enum: [...] }` typed as the union of its values. */
export function IntegerEnum<const V extends readonly number[]>(
  values: V,
  options: TSchemaOptions = {},
): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ type: 'integer', enum: [...values], ...options } as unknown as TSchema);
}

/**
 * `{ type: 'object', additionalProperties: true, … }` (no `properties`): any object. Typed `object`, so a
 * handler may return an interface (which has no index signature).
 */
export function AnyObject(options: TSchemaOptions = {}): TUnsafe<object> {
  return Type.Unsafe<object>({ type: 'object', additionalProperties: true, ...options } as unknown as TSchema);
}
