import { availableParallelism } from 'node:os';
import { defineConfig, type Project } from '@playwright/test';
import { CHROMIUM_ARGS, electronBinary } from './support/hindsight.ts';

/**
 * End-to-end tests of Hindsight on real sysroots: Debian's Chromium against browser mode
 * (`hindsight serve`), and the same specs against the Electron app when its binary is installed.
 * Run with: npx playwright test -c e2e/playwright.config.ts
 */

const projects: Project[] = [
  {
    name: 'browser',
    metadata: { target: 'browser' },
    use: {
      browserName: 'chromium',
      launchOptions: { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS },
    },
  },
];

if (electronBinary()) {
  projects.push({ name: 'electron', metadata: { target: 'electron' } });
} else if (!process.env.PLAYWRIGHT_SKIP_ELECTRON_NOTE) {
  process.env.PLAYWRIGHT_SKIP_ELECTRON_NOTE = '1';
  console.log(
    'e2e: skipping the "electron" project: node_modules/electron/dist has no Electron binary (npm could not download it here). The same specs run against it once it is installed.',
  );
}

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: 'results',
  globalSetup: './support/global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  // Each spec file runs its own app, helper and browser: one worker per core, three at most.
  workers: Math.max(1, Math.min(3, availableParallelism())),
  retries: 0,
  reporter: [['list']],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects,
});
