import { setupPlatformTests } from '@platform/core/testing';

/** Resets the test database and starts the real ml-gateway (unless ML_GATEWAY_URL points at one). */
export default () => setupPlatformTests(18000);
