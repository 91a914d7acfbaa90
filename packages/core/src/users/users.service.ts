import type { Knex } from 'knex';
import { NotFoundError } from '../errors.js';
import { isUuid, type Page, pageSize } from '../pagination.js';
import { currentTenant } from '../tenancy/context.js';
import { deleteUser, findUser, insertUser, listUsers, type User, updateUser } from './users.repository.js';

/** Users of the current tenant (resolved from the request context). */
export class UsersService {
  constructor(private readonly db: Knex) {}

  async create(input: { email: string; name: string }): Promise<User> {
    return insertUser(this.db, currentTenant(), { email: input.email.trim(), name: input.name });
  }

  async get(id: string): Promise<User> {
    const user = isUuid(id) ? await findUser(this.db, currentTenant(), id) : undefined;
    if (!user) throw new NotFoundError('User');
    return user;
  }

  list(limit?: number, cursor?: string): Promise<Page<User>> {
    return listUsers(this.db, currentTenant(), pageSize(limit), cursor);
  }

  async update(id: string, patch: { email?: string; name?: string }): Promise<User> {
    const changes: { email?: string; name?: string } = {};
    if (patch.email !== undefined) changes.email = patch.email.trim();
    if (patch.name !== undefined) changes.name = patch.name;
    const user = isUuid(id) ? await updateUser(this.db, currentTenant(), id, changes) : undefined;
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async delete(id: string): Promise<void> {
    if (!isUuid(id) || !(await deleteUser(this.db, currentTenant(), id))) throw new NotFoundError('User');
  }
}
