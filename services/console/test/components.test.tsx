import { APIError, NotFoundError, UnprocessableEntityError } from '@platform/sdk';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { showError } from '../src/api.js';
import { type Loaded, Show } from '../src/ui.js';

/** An API error as the SDK builds it from a problem+json response. */
function apiError(status: number, problem: Record<string, unknown>, requestId: string): APIError {
  return APIError.fromResponse(status, problem, new Headers({ 'x-request-id': requestId }));
}

function loaded<T>(state: Partial<Loaded<T>>): Loaded<T> {
  return { data: undefined, error: undefined, loading: false, reload: () => undefined, ...state };
}

/** The text a screen's state renders, and its markup. */
function render<T>(state: Loaded<T>, body: (data: T) => string) {
  const html = renderToStaticMarkup(
    <Show loaded={state} what="the tenants">
      {(data) => <p className="body">{body(data)}</p>}
    </Show>,
  );
  return { html, text: html.replace(/<[^>]+>/g, '') };
}

describe("a screen's states (Show, ErrorBox, showError)", () => {
  it('loading: a status line naming what loads, nothing else', () => {
    const { html, text } = render(loaded<string>({ loading: true }), (d) => d);
    expect(html).toContain('role="status"');
    expect(text).toBe('Loading the tenants…');
    expect(html).not.toContain('role="alert"');
  });

  it("an API error before any data: the problem's detail, its field errors and the request id, with a retry", () => {
    const err = apiError(
      422,
      {
        type: 'about:blank',
        title: 'Unprocessable Entity',
        status: 422,
        code: 'validation_failed',
        detail: 'Invalid audit filter',
        errors: [{ field: 'query.action', message: 'must be an action such as tenant.provisioned' }],
      },
      'req-7f3a',
    );
    expect(err).toBeInstanceOf(UnprocessableEntityError);
    const { html, text } = render(loaded<string>({ error: showError(err) }), (d) => d);
    expect(html).toContain('role="alert"');
    expect(text).toContain('Error 422: Invalid audit filter');
    expect(text).toContain('query.action must be an action such as tenant.provisioned');
    expect(text).toContain('Request id: req-7f3a');
    expect(text).toContain('Try again');
    expect(html).not.toContain('class="body"');
  });

  it('a problem without a detail shows its title; a request id from the body when the header is missing', () => {
    const err = APIError.fromResponse(
      404,
      { title: 'Not Found', status: 404, code: 'tenant_not_found', request_id: 'req-body-1' },
      new Headers(),
    );
    expect(err).toBeInstanceOf(NotFoundError);
    const { text } = render(loaded<string>({ error: showError(err) }), (d) => d);
    expect(text).toContain('Error 404: Not Found');
    expect(text).toContain('Request id: req-body-1');
  });

  it('a failed refresh keeps the data shown and the error above it', () => {
    const err = apiError(
      503,
      {
        title: 'Service Unavailable',
        status: 503,
        code: 'database_unavailable',
        detail: 'The database is unavailable',
      },
      'req-503',
    );
    const { html, text } = render(loaded({ data: ['acme'], error: showError(err) }), (d) => d.join(','));
    expect(text).toContain('Error 503: The database is unavailable');
    expect(text).toContain('Request id: req-503');
    expect(html.indexOf('role="alert"')).toBeLessThan(html.indexOf('class="body"'));
    expect(text).toContain('acme');
  });

  it('an error that is not from the API (the network): its message, no status, no request id', () => {
    const { text } = render(loaded<string>({ error: showError(new TypeError('fetch failed')) }), (d) => d);
    expect(text).toContain('Error: fetch failed');
    expect(text).not.toContain('Request id');
  });

  it('data: the body only', () => {
    const { html, text } = render(loaded({ data: 'two tenants' }), (d) => d);
    expect(text).toBe('two tenants');
    expect(html).not.toContain('role=');
  });
});
