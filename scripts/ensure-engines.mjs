// Finds Firefox ESR and WebKitGTK's driver for the browser tests, installing Debian's packages when running as root.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (name) => ['/usr/bin', '/usr/local/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));

function aptInstall(packages, why) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) return false;
  console.log(`syncline: ${why}; installing Debian's ${packages.join(' ')} with apt-get...`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return true;
}

export function ensureFirefox() {
  const find = () =>
    [process.env.FIREFOX_PATH, onPath('firefox-esr'), onPath('firefox')].find((p) => p && existsSync(p));
  if (find() || (aptInstall(['firefox-esr'], 'no Firefox found') && find())) return;
  console.error(
    'syncline: Firefox not found. Install it (Debian: "sudo apt-get install -y firefox-esr") or set FIREFOX_PATH.',
  );
  process.exit(1);
}

export function ensureWebKit() {
  const found = () => onPath('WebKitWebDriver') && (process.env.DISPLAY || onPath('Xvfb'));
  if (found() || (aptInstall(['webkit2gtk-driver', 'xvfb', 'xauth'], 'no WebKitWebDriver or Xvfb found') && found()))
    return;
  console.error(
    'syncline: WebKitWebDriver or Xvfb not found. Install them (Debian: "sudo apt-get install -y webkit2gtk-driver xvfb xauth").',
  );
  process.exit(1);
}
