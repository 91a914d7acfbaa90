import { z } from 'zod';

/** A postgres:// URL; unset or empty is none. */
const databaseUrl = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
);

/**
 * The environment of the CLIs (`platform-migrate`, `platform-maintenance`), each variable with its
 * meaning (`.describe()`), from which docs/configuration.md is generated.
 */
export const cliEnvSchema = z
  .object({
    DATABASE_OWNER_URL: databaseUrl.describe(
      'The owner role, which both CLIs connect as (DDL, pg_partman maintenance). Unset or empty: `DATABASE_URL`',
    ),
    DATABASE_URL: databaseUrl.describe(
      "The runtime role: with `DATABASE_OWNER_URL` also set, `platform-migrate` grants this URL's user its rights after the migrations ([database roles](#database-roles)). Alone: the one role for everything",
    ),
  })
  .transform((env, ctx) => {
    const ownerUrl = env.DATABASE_OWNER_URL ?? env.DATABASE_URL;
    if (!ownerUrl) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['DATABASE_OWNER_URL'],
        message: 'is not set (nor DATABASE_URL)',
      });
      return z.NEVER;
    }
    return {
      ownerUrl,
      /** Set when it names a role other than the owner's URL: the role the migrations grant rights to. */
      runtimeUrl:
        env.DATABASE_URL !== undefined && env.DATABASE_URL !== ownerUrl ? env.DATABASE_URL : undefined,
    };
  });

export type CliConfig = z.output<typeof cliEnvSchema>;

/** Parses the CLIs' environment once; throws an Error listing every problem. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const result = cliEnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
