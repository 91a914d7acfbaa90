import type { Knex } from 'knex';
import type { TenantStatements } from '../db/prepared.js';
import { NotFoundError, QuotaExceededError } from '../errors.js';
import { isUuid, type Page, pageSize } from '../pagination.js';
import { currentTenant } from '../tenancy/context.js';
import { PLANS } from '../tenancy/plans.js';
import { inTenantTransaction } from '../tenancy/tenant-db.js';
import {
  countUsers,
  deleteUser,
  findUser,
  findUserPrepared,
  insertUser,
  listUsers,
  lockUserCreation,
  type User,
  updateUser,
} from './users.repository.js';

/**
 * Users of the current tenant (resolved from the request context). Every call runs under the
 * plan's statement timeout: in a transaction, or, for the read by id when `statements` is given,
 * as one prepared statement on a connection of the plan's pool.
 */
export class UsersService {
  constructor(
    private readonly db: Knex,
    private readonly statements?: TenantStatements,
  ) {}

  /** Creates a user unless the tenant holds its plan's `users` quota already (429 `quota_exceeded`). */
  async create(input: { email: string; name: string }): Promise<User> {
    const tenant = currentTenant();
    const limit = PLANS[tenant.plan].limits.users;
    return inTenantTransaction(this.db, tenant, async (trx) => {
      await lockUserCreation(trx, tenant);
      const used = await countUsers(trx, tenant, limit);
      if (used >= limit) throw new QuotaExceededError('users', limit, used, 1, null);
      return insertUser(trx, tenant, { email: input.email.trim(), name: input.name });
    });
  }

  async get(id: string): Promise<User> {
    const tenant = currentTenant();
    let user: User | undefined;
    if (isUuid(id)) {
      const { statements } = this;
      user = statements
        ? await findUserPrepared(statements, tenant, id)
        : await inTenantTransaction(this.db, tenant, (trx) => findUser(trx, tenant, id));
    }
    if (!user) throw new NotFoundError('User');
    return user;
  }

  list(limit?: number, cursor?: string): Promise<Page<User>> {
    const tenant = currentTenant();
    return inTenantTransaction(this.db, tenant, (trx) => listUsers(trx, tenant, pageSize(limit), cursor));
  }

  async update(id: string, patch: { email?: string; name?: string }): Promise<User> {
    const tenant = currentTenant();
    const changes: { email?: string; name?: string } = {};
    if (patch.email !== undefined) changes.email = patch.email.trim();
    if (patch.name !== undefined) changes.name = patch.name;
    const user = isUuid(id)
      ? await inTenantTransaction(this.db, tenant, (trx) => updateUser(trx, tenant, id, changes))
      : undefined;
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async delete(id: string): Promise<void> {
    const tenant = currentTenant();
    const deleted =
      isUuid(id) && (await inTenantTransaction(this.db, tenant, (trx) => deleteUser(trx, tenant, id)));
    if (!deleted) throw new NotFoundError('User');
  }
}
