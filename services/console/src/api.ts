import { APIError, PlatformAdminClient, PlatformError } from '@platform/sdk';

const TOKEN_KEY = 'platform.console.adminToken';

/** The admin token lives in this tab's sessionStorage only: never a URL, a cookie or localStorage. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The SDK's admin client for this origin (the API serves the console, or the dev server proxies it). */
export function adminClient(token: string): PlatformAdminClient {
  return new PlatformAdminClient({ adminToken: token, baseUrl: window.location.origin, maxRetries: 1 });
}

/** What an error shows: the problem's detail and the request id to quote. */
export interface ShownError {
  message: string;
  status?: number;
  code?: string;
  requestId?: string | null;
  fields?: Array<{ field: string; message: string }>;
}

export function showError(err: unknown): ShownError {
  if (err instanceof APIError) {
    return {
      message: err.problem.detail ?? err.problem.title ?? err.message,
      status: err.status,
      code: err.code,
      requestId: err.requestId,
      fields: err.errors,
    };
  }
  if (err instanceof PlatformError || err instanceof Error) return { message: err.message };
  return { message: String(err) };
}
