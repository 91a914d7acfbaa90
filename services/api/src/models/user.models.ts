export interface User {
  /** @format uuid */
  id: string;
  email: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

export interface CreateUserRequest {
  /**
   * Unique within the tenant (case-insensitive).
   * @pattern ^[^\s@]+@[^\s@]+\.[^\s@]+$
   * @maxLength 254
   */
  email: string;
  /**
   * @minLength 1
   * @maxLength 200
   */
  name: string;
}

export interface UpdateUserRequest {
  /**
   * @pattern ^[^\s@]+@[^\s@]+\.[^\s@]+$
   * @maxLength 254
   */
  email?: string;
  /**
   * @minLength 1
   * @maxLength 200
   */
  name?: string;
}

export interface UserList {
  data: User[];
  next_cursor: string | null;
}
