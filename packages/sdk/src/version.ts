/** The SDK's version (kept equal to package.json's by the build and a test). */
export const VERSION = '0.0.0';
