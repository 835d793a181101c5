import { defineConfig } from 'vitest/config';

// End-to-end tests start real processes (the relay, headless Chromium): one file at a time,
// generous timeouts, and a global teardown that kills any relay a crashed worker left behind.
export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 15_000,
    fileParallelism: false,
    globalSetup: ['./support/global-setup.ts'],
  },
});
