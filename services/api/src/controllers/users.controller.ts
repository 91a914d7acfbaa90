import type { UsersService } from '@platform/core';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Middlewares,
  OperationId,
  Patch,
  Path,
  Post,
  Query,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import { idempotent } from '../middleware/idempotency.js';
import type { ProblemDetails } from '../models/problem.js';
import type { CreateUserRequest, UpdateUserRequest, User, UserList } from '../models/user.models.js';

@Route('v1/users')
@Tags('Users')
export class UsersController extends Controller {
  constructor(private readonly users: UsersService) {
    super();
  }

  @Post()
  @Middlewares(idempotent)
  @Security('api_key', ['write'])
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('createUser')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails, { 'Retry-After'?: string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    "Rate limited (`rate_limited`), or the plan's `users` quota is reached (`quota_exceeded`)",
    undefined,
    ['application/problem+json'],
  )
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(201, 'Created')
  @Response<ProblemDetails>(409, 'A user with this email exists', undefined, ['application/problem+json'])
  async createUser(
    @Body() body: CreateUserRequest,
    /** Makes retries safe: a repeated request with the same key gets the first response. */ @Header(
      'Idempotency-Key',
    )
    _idempotencyKey?: string,
  ): Promise<User> {
    const user = await this.users.create(body);
    this.setStatus(201);
    return user;
  }

  /**
   * Lists the tenant's users, oldest first.
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   */
  @Get()
  @Security('api_key', ['read'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('listUsers')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  async listUsers(@Query() limit?: number, @Query() cursor?: string): Promise<UserList> {
    return this.users.list(limit, cursor);
  }

  @Get('{userId}')
  @Security('api_key', ['read'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('getUser')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails>(404, 'No such user', undefined, ['application/problem+json'])
  async getUser(@Path() userId: string): Promise<User> {
    return this.users.get(userId);
  }

  @Patch('{userId}')
  @Security('api_key', ['write'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('updateUser')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails>(404, 'No such user', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(409, 'A user with this email exists', undefined, ['application/problem+json'])
  async updateUser(@Path() userId: string, @Body() body: UpdateUserRequest): Promise<User> {
    return this.users.update(userId, body);
  }

  @Delete('{userId}')
  @Security('api_key', ['write'])
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('deleteUser')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(204, 'Deleted')
  @Response<ProblemDetails>(404, 'No such user', undefined, ['application/problem+json'])
  async deleteUser(@Path() userId: string): Promise<void> {
    await this.users.delete(userId);
    this.setStatus(204);
  }
}
