import type { RequestOptions } from '../core/transport.js';
import type { ModelList } from '../types.js';
import { APIResource } from './resource.js';

/** The ML models predictions can use: `/v1/models`. */
export class Models extends APIResource {
  /** Every model with its input schema: `{ data: Model[] }` (not paginated). */
  list(options?: RequestOptions): Promise<ModelList> {
    return this.transport.get('/v1/models', undefined, options);
  }
}
