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
@Response<ProblemDetails, { 'x-request-id': string }>(
  400,
  'The body is not JSON, or not a JSON object or array (`malformed_json`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'WWW-Authenticate': string }>(
  401,
  'Missing or wrong API key (`missing_credentials`, `invalid_credentials`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  403,
  'The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  413,
  'The body is larger than `BODY_LIMIT` (`body_too_large`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  415,
  'The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  422,
  'Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each',
  undefined,
  'application/problem+json',
)
@Response<
  ProblemDetails,
  { 'x-request-id': string; 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }
>(
  429,
  'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  503,
  "A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
  undefined,
  'application/problem+json',
)
export class UsersController extends Controller {
  constructor(private readonly users: UsersService) {
    super();
  }

  /**
   * Creates a user of the tenant.
   * @param _idempotencyKey Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`).
   * @pattern _idempotencyKey ^[\x21-\x7e]{1,255}$
   */
  @Post()
  @Middlewares(idempotent)
  @Security('api_key', ['write'])
  @OperationId('createUser')
  @SuccessResponse<{
    'x-request-id': string;
    'RateLimit-Policy'?: string;
    RateLimit?: string;
    'idempotent-replayed'?: string;
    Location: string;
  }>(201, 'Created; `Location` is the user')
  @Response<ProblemDetails>(
    409,
    'A user with this email exists (`email_taken`), or an Idempotency-Key conflict',
    undefined,
    ['application/problem+json'],
  )
  @Response<
    ProblemDetails,
    { 'x-request-id': string; 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }
  >(
    429,
    "Rate limited (`rate_limited`), or the plan's `users` quota is reached (`quota_exceeded`)",
    undefined,
    ['application/problem+json'],
  )
  async createUser(
    @Body() body: CreateUserRequest,
    @Header('Idempotency-Key') _idempotencyKey?: string,
  ): Promise<User> {
    const user = await this.users.create(body);
    this.setStatus(201);
    this.setHeader('Location', `/v1/users/${user.id}`);
    return user;
  }

  /**
   * Lists the tenant's users, oldest first.
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   * @param cursor The `next_cursor` of the previous page.
   * @pattern cursor ^(0|[1-9][0-9]{0,14})_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
   */
  @Get()
  @Security('api_key', ['read'])
  @OperationId('listUsers')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  async listUsers(@Query() limit?: number, @Query() cursor?: string): Promise<UserList> {
    return this.users.list(limit, cursor);
  }

  @Get('{userId}')
  @Security('api_key', ['read'])
  @OperationId('getUser')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such user (`not_found`)', undefined, ['application/problem+json'])
  async getUser(@Path() userId: string): Promise<User> {
    return this.users.get(userId);
  }

  /** Changes a user's email and/or name; absent fields stay as they are. A request without a body is refused (422). */
  @Patch('{userId}')
  @Security('api_key', ['write'])
  @OperationId('updateUser')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such user (`not_found`)', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(409, 'A user with this email exists (`email_taken`)', undefined, [
    'application/problem+json',
  ])
  async updateUser(@Path() userId: string, @Body() body: UpdateUserRequest): Promise<User> {
    return this.users.update(userId, body);
  }

  @Delete('{userId}')
  @Security('api_key', ['write'])
  @OperationId('deleteUser')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    204,
    'Deleted',
  )
  @Response<ProblemDetails>(404, 'No such user (`not_found`)', undefined, ['application/problem+json'])
  async deleteUser(@Path() userId: string): Promise<void> {
    await this.users.delete(userId);
    this.setStatus(204);
  }
}
