// A small JSON Schema checker for the documents the project publishes a schema for (docs/*.schema.json):
// type (with "integer" and "null"), enum, required, properties, additionalProperties (false or a
// schema), items, format "date-time". Enough to hold a document to its documented shape; anything else
// in a schema is refused, so a schema cannot silently ask for more than is checked.

export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  format?: "date-time";
  [annotation: string]: unknown;
}

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description"]);
const CHECKED = new Set([
  "type",
  "enum",
  "required",
  "properties",
  "additionalProperties",
  "items",
  "format",
]);

function typeOf(value: unknown): string[] {
  if (value === null) return ["null"];
  if (Array.isArray(value)) return ["array"];
  if (typeof value === "number") return Number.isInteger(value) ? ["integer", "number"] : ["number"];
  return [typeof value];
}

/** Every place where `value` breaks `schema`, as "path: problem" (empty: it conforms). */
export function schemaProblems(schema: Schema, value: unknown, path = "$"): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema)) {
    if (!ANNOTATIONS.has(key) && !CHECKED.has(key))
      problems.push(`${path}: schema keyword ${key} is not checked`);
  }
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!typeOf(value).some((t) => allowed.includes(t))) {
      return [...problems, `${path}: ${JSON.stringify(value)} is not ${allowed.join(" or ")}`];
    }
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => e === value)) {
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.format === "date-time" && (typeof value !== "string" || Number.isNaN(Date.parse(value)))) {
    problems.push(`${path}: not a date-time`);
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}: missing ${key}`);
    for (const [key, child] of Object.entries(record)) {
      const known = schema.properties?.[key];
      if (known !== undefined) problems.push(...schemaProblems(known, child, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}: unexpected ${key}`);
      else if (typeof schema.additionalProperties === "object") {
        problems.push(...schemaProblems(schema.additionalProperties, child, `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => {
      problems.push(...schemaProblems(schema.items!, item, `${path}[${i}]`));
    });
  }
  return problems;
}
