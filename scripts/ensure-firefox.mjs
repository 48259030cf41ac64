// Finds Firefox ESR for the tests that need a second engine, installing Debian's package when running as root.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const candidates = [process.env.FIREFOX_PATH, '/usr/bin/firefox-esr', '/usr/bin/firefox'].filter(Boolean);

export function findFirefox() {
  return candidates.find((p) => existsSync(p));
}

export function ensureFirefox() {
  const found = findFirefox();
  if (found) {
    process.env.FIREFOX_PATH = found;
    return found;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.log('syncline: no Firefox found; installing the Debian package "firefox-esr" with apt-get...');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'firefox-esr'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    const installed = findFirefox();
    if (installed) {
      process.env.FIREFOX_PATH = installed;
      return installed;
    }
  }
  console.error('syncline: Firefox not found. Install it (Debian: "sudo apt-get install -y firefox-esr") or set FIREFOX_PATH.');
  process.exit(1);
}
