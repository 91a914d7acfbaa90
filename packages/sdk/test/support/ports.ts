/** The ml-gateway of this suite (the API suite's is on 18000). */
export const ML_GATEWAY_PORT = 18002;
export const ML_GATEWAY_URL = `http://127.0.0.1:${ML_GATEWAY_PORT}`;
