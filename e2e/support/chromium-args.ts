/**
 * How every test starts Debian's Chromium (headless, as root, on a machine with no network): no
 * sandbox, no GPU, and none of the background services that would try to reach the internet.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
