import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliEnvSchema } from '@platform/core';
import { z } from 'zod';
import { apiEnvSchema } from '../config.js';

/** One environment variable of a service, as its config schema states it. */
export interface EnvVariable {
  name: string;
  /** The default as written in the environment; undefined when there is none. */
  default?: string;
  required: boolean;
  description: string;
  choices?: readonly string[];
  kind?: 'integer' | 'number' | 'boolean' | 'string' | 'list' | 'path';
  minimum?: number;
  maximum?: number;
}

function objectShape(schema: z.ZodTypeAny): Record<string, z.ZodTypeAny> {
  let current = schema;
  while (current instanceof z.ZodEffects) current = current.innerType();
  if (!(current instanceof z.ZodObject)) throw new Error('a config schema must be a z.object()');
  return current.shape as Record<string, z.ZodTypeAny>;
}

/** Walks the wrappers of one variable's schema (default, optional, transforms, unions). */
function describeField(name: string, field: z.ZodTypeAny): EnvVariable {
  let description: string | undefined;
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  const found: Partial<EnvVariable> = {};
  const visit = (s: z.ZodTypeAny): void => {
    description ??= s.description;
    if (s instanceof z.ZodDefault) {
      if (!hasDefault) defaultValue = s._def.defaultValue();
      hasDefault = true;
      visit(s._def.innerType);
    } else if (s instanceof z.ZodOptional) {
      optional = true;
      visit(s._def.innerType);
    } else if (s instanceof z.ZodEffects) {
      visit(s._def.schema);
    } else if (s instanceof z.ZodPipeline) {
      visit(s._def.in);
    } else if (s instanceof z.ZodUnion) {
      for (const option of s._def.options as z.ZodTypeAny[]) visit(option);
    } else if (s instanceof z.ZodEnum) {
      found.choices = s._def.values as string[];
    } else if (s instanceof z.ZodNumber) {
      found.kind = 'number';
      for (const check of s._def.checks) {
        if (check.kind === 'int') found.kind = 'integer';
        if (check.kind === 'min') found.minimum = check.value;
        if (check.kind === 'max') found.maximum = check.value;
      }
    }
  };
  visit(field);
  if (!description) throw new Error(`${name} has no description: add .describe('…') to its schema`);
  return {
    name,
    ...found,
    description,
    required: !hasDefault && !optional,
    ...(hasDefault ? { default: String(defaultValue) } : {}),
  };
}

/** Every variable of a zod environment schema, in the schema's order. */
export function zodEnvVariables(schema: z.ZodTypeAny): EnvVariable[] {
  return Object.entries(objectShape(schema)).map(([name, field]) => describeField(name, field));
}

const ML_GATEWAY_DIR = fileURLToPath(new URL('../../../ml-gateway/', import.meta.url));

/** The ml-gateway's settings (pydantic-settings), read from the class by its Python script. */
export function mlGatewayVariables(python = `${ML_GATEWAY_DIR}.venv/bin/python`): EnvVariable[] {
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: run scripts/setup.sh (it creates the ml-gateway's virtualenv)`);
  }
  const out = execFileSync(python, [`${ML_GATEWAY_DIR}scripts/settings_reference.py`], {
    cwd: ML_GATEWAY_DIR,
    encoding: 'utf8',
  });
  const entries = JSON.parse(out) as Array<{
    name: string;
    kind: EnvVariable['kind'];
    required: boolean;
    default: string | null;
    description: string | null;
    choices: string[] | null;
    minimum?: number;
    maximum?: number;
  }>;
  return entries.map((e) => {
    if (!e.description) throw new Error(`ml-gateway's ${e.name} has no Field(description=...)`);
    return {
      name: e.name,
      kind: e.kind,
      required: e.required,
      description: e.description,
      ...(e.default !== null ? { default: e.default } : {}),
      ...(e.choices ? { choices: e.choices } : {}),
      ...(e.minimum !== undefined ? { minimum: e.minimum } : {}),
      ...(e.maximum !== undefined ? { maximum: e.maximum } : {}),
    };
  });
}

function constraint(v: EnvVariable): string | undefined {
  if (v.choices) return `One of ${v.choices.map((c) => `\`${c}\``).join(', ')}`;
  if (v.kind === 'boolean') return '`true` or `false`';
  if (v.kind !== 'integer' && v.kind !== 'number') return undefined;
  const what = v.kind === 'integer' ? 'An integer' : 'A number';
  if (v.minimum !== undefined && v.maximum !== undefined) return `${what} from ${v.minimum} to ${v.maximum}`;
  if (v.minimum !== undefined) return `${what}, at least ${v.minimum}`;
  if (v.maximum !== undefined) return `${what}, at most ${v.maximum}`;
  return what;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The Markdown table of a service's variables: name, default, meaning. */
export function renderEnvTable(variables: readonly EnvVariable[]): string {
  const rows = variables.map((v) => {
    const fallback = v.required ? 'required' : 'none';
    const value = v.default === undefined ? fallback : v.default === '' ? 'empty' : `\`${v.default}\``;
    const rule = constraint(v);
    return `| \`${v.name}\` | ${value} | ${cell(rule ? `${v.description}. ${rule}` : v.description)} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/**
 * The generated sections of docs/configuration.md, by marker name. The worker is a development
 * dependency of the API, imported only here, when the docs are generated.
 */
export async function configurationSections(): Promise<Record<string, string>> {
  const { workerEnvSchema } = await import('@platform/worker');
  return {
    'config-api': renderEnvTable(zodEnvVariables(apiEnvSchema)),
    'config-worker': renderEnvTable(zodEnvVariables(workerEnvSchema)),
    'config-ml-gateway': renderEnvTable(mlGatewayVariables()),
    'config-cli': renderEnvTable(zodEnvVariables(cliEnvSchema)),
  };
}
