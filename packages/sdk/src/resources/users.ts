import { PageIterator } from '../core/pagination.js';
import type { RequestOptions } from '../core/transport.js';
import type { CreateUserRequest, ListParams, UpdateUserRequest, User } from '../types.js';
import { APIResource, segment } from './resource.js';

/** The tenant's users: `/v1/users`. */
export class Users extends APIResource {
  /** Creates a user (`409 ConflictError` when the email is taken). */
  create(body: CreateUserRequest, options?: RequestOptions): Promise<User> {
    return this.transport.post('/v1/users', body, options);
  }

  get(userId: string, options?: RequestOptions): Promise<User> {
    return this.transport.get(`/v1/users/${segment(userId)}`, undefined, options);
  }

  /** Changes the fields given. */
  update(userId: string, body: UpdateUserRequest, options?: RequestOptions): Promise<User> {
    return this.transport.patch(`/v1/users/${segment(userId)}`, body, options);
  }

  async delete(userId: string, options?: RequestOptions): Promise<void> {
    await this.transport.delete<undefined>(`/v1/users/${segment(userId)}`, options);
  }

  /** The users, oldest first: `for await (const user of client.users.list())`. */
  list(params: ListParams = {}, options?: RequestOptions): PageIterator<User> {
    return new PageIterator(
      this.pager<User>('/v1/users', { limit: params.limit, cursor: params.cursor }, options),
    );
  }
}
